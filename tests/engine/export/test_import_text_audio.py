"""Import from code for the text and audio blocks: masks, memory and the audio front end.

The templates' round trips (test_import.py) cover the common settings; these graphs cover
the rest (a masked bidirectional RNN, causal masked layers, cross-attention, MFCC and the
plain spectrogram) and check that each argument of a call reaches the block's right port.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
import torch
from torch import nn

from engine.blocks.base import TensorSpec
from engine.compile import compile_graph
from engine.export import ExportError
from engine.export.importer import import_module
from engine.export.pycode import CUSTOM, generate
from engine.project import Edge, Graph, Node
from engine.shapes import analyze_graph
from tests.engine.export.helpers import chain


def text_zoo() -> Graph:
    """Token ids through every masked layer, with cross-attention over the embeddings."""
    nodes = [Node(id="ids", type="Input", params={"shape": [-1], "dtype": "long", "vocab": 20}),
             Node(id="embed", type="Embedding", params={"embedding_dim": 8, "padding": True}),
             Node(id="attn", type="MultiheadAttention",
                  params={"num_heads": 2, "causal": True, "masked": True}),
             Node(id="block", type="TransformerEncoderLayer",
                  params={"nhead": 2, "dim_feedforward": 16, "causal": True, "masked": True}),
             Node(id="rnn", type="RNN", params={"hidden_size": 4, "num_layers": 2,
                                                "bidirectional": True, "dropout": 0.1,
                                                "nonlinearity": "relu", "masked": True}),
             Node(id="cross", type="CrossAttention", params={"num_heads": 2, "masked": True}),
             Node(id="pool", type="SequencePool", params={"mode": "max", "masked": True}),
             Node(id="out", type="Output")]
    links = [("ids", "embed", "in"), ("embed", "attn", "in"), ("ids", "attn", "mask"),
             ("attn", "block", "in"), ("ids", "block", "mask"), ("block", "rnn", "in"),
             ("ids", "rnn", "mask"), ("rnn", "cross", "in"), ("embed", "cross", "memory"),
             ("ids", "cross", "mask"), ("cross", "pool", "in"), ("ids", "pool", "mask"),
             ("pool", "out", "in")]
    return Graph(nodes=nodes, edges=[Edge(src=s, dst=d, dst_port=p) for s, d, p in links])


def decoder_zoo() -> Graph:
    """A decoder layer reading a memory of another length, unmasked; then pooling."""
    nodes = [Node(id="x", type="Input", params={"shape": [5, 8]}),
             Node(id="memory", type="Input", params={"shape": [7, 8]}),
             Node(id="dec", type="TransformerDecoderLayer",
                  params={"nhead": 2, "dim_feedforward": 16, "activation": "gelu",
                          "norm_first": True}),
             Node(id="pool", type="SequencePool", params={"mode": "last"}),
             Node(id="out", type="Output")]
    links = [("x", "dec", "in"), ("memory", "dec", "memory"), ("dec", "pool", "in"),
             ("pool", "out", "in")]
    return Graph(nodes=nodes, edges=[Edge(src=s, dst=d, dst_port=p) for s, d, p in links])


def mfcc_chain() -> Graph:
    return chain({"shape": [1, 800]},
                 [("mfcc", "MFCC", {"sample_rate": 8000, "n_fft": 128, "hop_length": 64,
                                    "n_mels": 20, "n_mfcc": 8, "f_min": 50.0, "f_max": 3000.0}),
                  ("aug", "SpecAugment", {"time_masks": 1, "time_width": 3, "freq_masks": 3,
                                          "freq_width": 2})])


def spectrogram_chain() -> Graph:
    return chain({"shape": [2, 600]},
                 [("spec", "Spectrogram", {"n_fft": 64, "hop_length": 32, "log": False})])


def summary(graph):
    a = analyze_graph(graph)
    s = a.structure
    per_node = [(s.blocks[n].type, str(a.nodes[n].out), a.nodes[n].params) for n in s.order]
    return per_node, a.total_params, a.total_flops


def import_generated(tmp_path, graph: Graph, name: str):
    """Write the graph's model.py, load its class and import an instance of it back."""
    a = analyze_graph(graph, "model")
    assert a.ok, a.errors
    path = tmp_path / "model.py"
    path.write_text(generate(compile_graph(graph, "model", 0, a), "model", a))
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # so inspect can read the copied classes' source
    spec.loader.exec_module(mod)
    net = next(v for v in vars(mod).values()
               if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == name
               and v.__name__ not in CUSTOM)()
    return import_module(net, list(a.input_specs()))


@pytest.mark.parametrize("make", [text_zoo, decoder_zoo, mfcc_chain, spectrogram_chain])
def test_generated_code_imports_back_to_the_same_graph(tmp_path, make):
    graph = make()
    result = import_generated(tmp_path, graph, f"lf_text_audio_{make.__name__}")
    assert summary(result.graph) == summary(graph)


def test_each_argument_reaches_its_port(tmp_path):
    result = import_generated(tmp_path, text_zoo(), "lf_text_audio_ports")
    into = {(e.src, e.dst_port) for e in result.graph.edges if e.dst == "cross"}
    assert into == {("rnn", "in"), ("embed", "memory"), ("ids", "mask")}
    masks = {e.dst for e in result.graph.edges if e.src == "ids" and e.dst_port == "mask"}
    assert masks == {"attn", "block", "rnn", "cross", "pool"}


class PaddedLookup(nn.Module):
    def __init__(self, padding_idx):
        super().__init__()
        self.embed = nn.Embedding(12, 4, padding_idx=padding_idx)

    def forward(self, ids):
        return self.embed(ids)


def test_embedding_with_padding_id_zero_is_a_padding_embedding():
    result = import_module(PaddedLookup(0), [TensorSpec((None,), "long", 12)])
    embed = next(n for n in result.graph.nodes if n.type == "Embedding")
    assert embed.params["padding"] is True
    assert torch.equal(result.weights["embed.weight"][0], torch.zeros(4))


def test_embedding_with_another_padding_id_is_refused():
    with pytest.raises(ExportError, match=r"`embed` \(Embedding\).*only padding_idx=0"):
        import_module(PaddedLookup(3), [TensorSpec((None,), "long", 12)])


class TwoSequences(nn.Module):
    """A copy of LayerForge's CrossAttention called without its memory is refused."""

    def __init__(self, attention):
        super().__init__()
        self.cross = attention

    def forward(self, x):
        return self.cross(x, x, x)


def test_a_call_with_the_wrong_arguments_names_the_ports():
    from engine.blocks.modules_text import CrossAttention

    net = TwoSequences(CrossAttention(8, 8, 2))
    with pytest.raises(ExportError, match=r"`cross` \(CrossAttention\) is called with 3 "
                                          r"arguments but its block CrossAttention takes 2: "
                                          r"in, memory"):
        import_module(net, [TensorSpec((None, 8))])

