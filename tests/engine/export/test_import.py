"""Import from code: torch.fx traces an nn.Module into an editable, laid-out graph."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine.blocks.base import TensorSpec
from engine.compile import compile_graph
from engine.export import ExportError
from engine.export.importer import import_module
from engine.export.pycode import CUSTOM, generate
from engine.shapes import analyze_graph
from engine.templates import list_templates, load_template
from tests.engine.export.helpers import sequence_zoo

# Graphs that use composites are left out: the importer traces through submodules, so a
# composite comes back inlined (its blocks, not a Group node).
TEMPLATE_GRAPHS = [(t, g) for t in list_templates() for g, graph in load_template(t).graphs.items()
                   if not any(n.type == "Group" for n in graph.nodes)]
TEMPLATE_GRAPHS.append(("sequence_zoo", "model"))


def summary(graph):
    a = analyze_graph(graph)
    s = a.structure
    per_node = [(s.blocks[n].type, str(a.nodes[n].out), a.nodes[n].params) for n in s.order]
    return per_node, a.total_params, a.total_flops


def _load_generated(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(("template", "graph_name"), TEMPLATE_GRAPHS)
def test_template_round_trips_through_generated_code(tmp_path, template, graph_name):
    graph = (sequence_zoo() if template == "sequence_zoo"
             else load_template(template).graphs[graph_name])
    a = analyze_graph(graph, graph_name)
    path = tmp_path / "model.py"
    path.write_text(generate(compile_graph(graph, graph_name, 0, a), graph_name, a))
    mod = _load_generated(path, f"lf_rt_{template}_{graph_name}")
    net = next(v for v in vars(mod).values()
               if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == mod.__name__
               and "forward" in v.__dict__ and v.__name__ not in CUSTOM)()
    result = import_module(net, list(a.input_specs()))
    assert summary(result.graph) == summary(graph)


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.side = nn.Conv2d(3, 8, 1)
        self.head = nn.Linear(16 * 8 * 8, 5)

    def forward(self, x):
        a = F.relu(self.conv(x))
        b = torch.sigmoid(self.side(x))
        y = torch.cat([a, b * a], dim=1)
        y = y.view(y.size(0), -1)
        return F.log_softmax(self.head(y), dim=1)


def test_functional_operations_map_to_blocks_and_keep_weights():
    net = Functional().eval()
    result = import_module(net, [TensorSpec((3, 8, 8))])
    types = [n.type for n in result.graph.nodes]
    assert types == ["Input", "Conv2d", "ReLU", "Conv2d", "Sigmoid", "Multiply", "Concat",
                     "Reshape", "Linear", "LogSoftmax", "Output"]
    x = torch.randn(2, 3, 8, 8)
    module = compile_graph(result.graph)
    module.load_state_dict(result.weights)
    with torch.no_grad():
        assert torch.equal(module.eval()(x), net(x))


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(30, 8)
        self.rnn = nn.GRU(8, 12, batch_first=True)
        self.out = nn.Linear(12, 2)

    def forward(self, ids):
        y, _ = self.rnn(self.embed(ids))
        return self.out(y[:, -1])


def test_recurrent_layer_with_last_step_becomes_output_last():
    result = import_module(Classifier(), [TensorSpec((None,), "long", 30)])
    gru = next(n for n in result.graph.nodes if n.type == "GRU")
    assert gru.params["output"] == "last" and gru.params["hidden_size"] == 12
    assert result.max_abs_diff <= 1e-6


def test_imported_graph_is_laid_out():
    result = import_module(Classifier(), [TensorSpec((None,), "long", 30)])
    xs = [n.position[0] for n in result.graph.nodes]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)


class Mystery(nn.Module):
    def forward(self, x):
        return x * 2


class WithMystery(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.foo = nn.Sequential(nn.PixelShuffle(1))

    def forward(self, x):
        return self.foo(self.fc(x).view(-1, 4, 1, 1))


def test_unknown_layer_is_refused_naming_it():
    with pytest.raises(ExportError, match=r"layer `foo.0` \(PixelShuffle\) has no LayerForge block"):
        import_module(WithMystery(), [TensorSpec((4,))])


class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


def test_untraceable_module_gives_the_fx_reason():
    with pytest.raises(ExportError, match=r"^torch.fx cannot trace \w+: .*control flow"):
        import_module(Branchy(), [TensorSpec((4,))], name="branchy")


def test_wrong_number_of_input_shapes_is_refused():
    with pytest.raises(ExportError, match="takes 1 inputs but 2"):
        import_module(Functional(), [TensorSpec((3, 8, 8)), TensorSpec((3,))])


def test_embedding_with_other_vocab_is_refused():
    with pytest.raises(ExportError, match=r"`embed` \(Embedding\) has 30 token ids but its input.s vocab is 10"):
        import_module(Classifier(), [TensorSpec((None,), "long", 10)])


def test_weightless_layers_such_as_nn_flatten_import():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    result = import_module(net, [TensorSpec((1, 8, 8))])
    types = [n.type for n in result.project.graphs["model"].nodes]
    assert "Flatten" in types and result.max_abs_diff <= 1e-5
