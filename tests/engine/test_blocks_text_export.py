"""The masked and sequence-to-sequence blocks compile to readable code and export: ONNX
(matching PyTorch in onnxruntime) and a standalone model.py (checked in a fresh process)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from engine.compile import compile_graph
from engine.export import export
from engine.project import Edge, Graph, Node
from engine.shapes import analyze_graph
from tests.engine.export.helpers import save_graph_project

SRC, TGT, VOCAB = 7, 5, 12


def classifier_graph() -> Graph:
    """Every masked encoder-side block in one text classifier."""
    nodes = [
        Node(id="ids", type="Input", params={"shape": [SRC], "dtype": "long", "vocab": VOCAB}),
        Node(id="emb", type="Embedding", params={"embedding_dim": 8, "padding": True}),
        Node(id="rnn", type="GRU", params={"hidden_size": 4, "bidirectional": True,
                                           "masked": True}),
        Node(id="attn", type="MultiheadAttention", params={"num_heads": 2, "masked": True}),
        Node(id="enc", type="TransformerEncoderLayer",
             params={"nhead": 2, "dim_feedforward": 16, "masked": True}),
        Node(id="pool", type="SequencePool", params={"mode": "last", "masked": True}),
        Node(id="logits", type="Output"),
    ]
    wires = [("ids", "emb", "in"), ("emb", "rnn", "in"), ("ids", "rnn", "mask"),
             ("rnn", "attn", "in"), ("ids", "attn", "mask"), ("attn", "enc", "in"),
             ("ids", "enc", "mask"), ("enc", "pool", "in"), ("ids", "pool", "mask"),
             ("pool", "logits", "in")]
    return Graph(nodes=nodes, edges=[Edge(src=s, dst=d, dst_port=p) for s, d, p in wires])


def seq2seq_graph() -> Graph:
    """A decoder over the target ids attending to the source's embeddings."""
    nodes = [
        Node(id="src", type="Input", params={"shape": [SRC], "dtype": "long", "vocab": VOCAB}),
        Node(id="tok", type="Input", params={"shape": [TGT], "dtype": "long", "vocab": VOCAB}),
        Node(id="src_emb", type="Embedding", params={"embedding_dim": 8}),
        Node(id="tok_emb", type="Embedding", params={"embedding_dim": 8, "padding": True}),
        Node(id="dec", type="TransformerDecoderLayer",
             params={"nhead": 2, "dim_feedforward": 16, "masked": True}),
        Node(id="cross", type="CrossAttention", params={"num_heads": 2, "masked": True}),
        Node(id="logits", type="Output"),
    ]
    wires = [("src", "src_emb", "in"), ("tok", "tok_emb", "in"), ("tok_emb", "dec", "in"),
             ("src_emb", "dec", "memory"), ("src", "dec", "mask"), ("dec", "cross", "in"),
             ("src_emb", "cross", "memory"), ("src", "cross", "mask"),
             ("cross", "logits", "in")]
    return Graph(nodes=nodes, edges=[Edge(src=s, dst=d, dst_port=p) for s, d, p in wires])


GRAPHS = {"classifier": classifier_graph, "seq2seq": seq2seq_graph}


def padded_ids(batch: int, t: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCAB, (batch, t), generator=g)
    for b in range(batch):
        ids[b, int(torch.randint(1, t + 1, (1,), generator=g)):] = 0
    return ids


def test_gm_code_reads_like_pytorch():
    code = compile_graph(classifier_graph(), "classifier").code
    assert "rnn = self.rnn(emb, ids)" in code and "pool = self.pool(enc, ids)" in code
    code = compile_graph(seq2seq_graph(), "translator").code
    assert "dec = self.dec(tok_emb, src_emb, src)" in code
    assert "cross = self.cross(dec, src_emb, src)" in code


@pytest.mark.parametrize("name", list(GRAPHS))
def test_analysis_counts_the_weights_torch_has(name):
    graph = GRAPHS[name]()
    a = analyze_graph(graph)
    assert a.ok, a.errors
    gm = compile_graph(graph, "model", 0, a)
    for nid, info in a.nodes.items():
        if hasattr(gm, nid):
            assert info.params == sum(p.numel() for p in getattr(gm, nid).parameters()), nid


@pytest.fixture(scope="module", params=list(GRAPHS))
def exported(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    project = save_graph_project(root / "p.lforge", GRAPHS[request.param]())
    report = export(project, "onnx", root / "model.onnx")  # verified in onnxruntime
    return request.param, root, project, report


def test_onnx_export_matches_pytorch_on_padded_ids(exported):
    name, root, _, report = exported
    assert report.worst_diff is not None and report.worst_diff < 1e-4
    session = ort.InferenceSession(str(root / "model.onnx"), providers=["CPUExecutionProvider"])
    feeds = {i.name: padded_ids(4, i.shape[1], seed) for seed, i in enumerate(session.get_inputs())}
    module = compile_graph(GRAPHS[name](), "model").eval()
    with torch.no_grad():
        want = module(*feeds.values()).numpy()
    (got,) = session.run(None, {k: v.numpy() for k, v in feeds.items()})
    assert np.abs(got - want).max() < 1e-4


def test_model_py_carries_the_masked_modules(exported):
    name, root, project, _ = exported
    export(project, "python", root / "py")  # raises unless a fresh process reproduces it
    code = (root / "py" / "model.py").read_text()
    classes = {"classifier": ("Recurrent", "SelfAttention", "MaskedEncoderLayer",
                              "SequencePool"),
               "seq2seq": ("CausalDecoderLayer", "CrossAttention")}[name]
    for cls in classes:
        assert f"\nclass {cls}(" in code, cls
    assert "nn.Embedding(12, 8, padding_idx=0)" in code
    assert "masked=True" in code
    assert "from engine" not in code and "import engine" not in code
