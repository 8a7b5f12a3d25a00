"""Graph -> torch.fx.GraphModule whose generated code reads like hand-written PyTorch.

Node ids become the submodule attribute names and the variable names in ``gm.code``.
Initialisation is deterministic and per node: a node's weights depend only on the seed and its
id, so adding a block elsewhere does not change the others.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import torch
from torch import fx, nn

from engine.composite import GROUP
from engine.errors import UserError
from engine.naming import make_identifier
from engine.project import Graph
from engine.shapes import GraphAnalysis, analyze_graph


class CompileError(UserError):
    """The graph has errors; the message lists them, one ``graph/node: sentence`` per line."""


def node_seed(seed: int, node_id: str) -> int:
    return zlib.crc32(f"{seed}:{node_id}".encode()) & 0x7FFFFFFF


def _class_name(name: str) -> str:
    """The module's class name from the graph's name (any text: through the sanitizer)."""
    ident = make_identifier(name, fallback="model")
    return "".join(part.capitalize() for part in ident.split("_")) or "Model"


def compile_graph(graph: Graph, name: str = "model", seed: int = 0,
                  analysis: GraphAnalysis | None = None,
                  library: Mapping[str, Graph] | None = None) -> fx.GraphModule:
    """Build the PyTorch module for ``graph``. Raises CompileError if the graph has errors.

    Inputs are the forward arguments in graph order; with one Output the module returns a
    tensor, with several a tuple in graph order. ``library`` (the project's graphs) lets
    composite (Group) nodes compile: each becomes a submodule named by its node id, itself
    a GraphModule of the graph it runs, so the code reads ``backbone = self.backbone(x)``.
    """
    a = analysis if analysis is not None else analyze_graph(graph, name, library)
    if not a.ok:
        raise CompileError("\n".join(str(p) for p in a.errors))
    s = a.structure
    root = nn.Module()
    g = fx.Graph()
    values: dict[str, fx.Node] = {}
    body = [n for n in s.order if n in s.live and n not in s.inputs]
    for nid in s.inputs + body:
        block, p, ins = s.blocks[nid], s.params[nid], a.nodes[nid].ins
        if block.type == GROUP:
            module = _compile_use(library or {}, p["graph"], a.nodes[nid].inner,
                                  node_seed(seed, nid))
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(node_seed(seed, nid))
                module = block.build(p, ins)
        if module is not None:
            root.add_module(nid, module)
        args = [values[src] for src in s.sources[nid] if src is not None]
        values[nid] = block.emit(g, nid, p, args, ins)
    outs = [values[o] for o in s.outputs]
    g.output(outs[0] if len(outs) == 1 else tuple(outs))
    g.lint()
    return fx.GraphModule(root, g, class_name=_class_name(name))


def _compile_use(library: Mapping[str, Graph], target: str, inner: GraphAnalysis | None,
                 seed: int) -> fx.GraphModule:
    """The submodule of one Group node: its graph compiled with the inputs of this use."""
    assert inner is not None  # analysed without errors
    return compile_graph(library[target], target, seed, inner, library)


def example_inputs(analysis: GraphAnalysis, batch: int = 2, var_len: int = 8,
                   device: str | torch.device = "cpu") -> list[torch.Tensor]:
    """Random inputs matching the graph's Input blocks (variable dims get ``var_len``)."""
    xs = []
    for spec in analysis.input_specs():
        assert spec is not None
        shape = (batch, *(var_len if d is None else d for d in spec.shape))
        if spec.dtype == "long":
            xs.append(torch.randint(0, spec.vocab or 1, shape, device=device))
        else:
            xs.append(torch.randn(shape, device=device))
    return xs
