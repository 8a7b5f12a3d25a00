"""Shared helpers: fake run folders written the way engine.train writes them."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from engine.compile import compile_graph
from engine.project import Edge, Graph, Node, Project, save_project
from engine.templates import load_template

DATA_INFO = {"version": 1, "source": "builtin:test", "kind": "image", "input_shape": [1, 28, 28],
             "input_dtype": "float", "target": "class", "normalize_axis": "channel",
             "mean": [0.1307], "std": [0.3081], "classes": [str(d) for d in range(10)],
             "vocab": None, "pixel_range": [0.0, 1.0]}


def make_run(folder: Path, template: str = "lenet5", metrics: dict | None = None,
             weights: bool = True, data: dict | None = DATA_INFO) -> Path:
    """A run folder: project.lforge, weights.safetensors ("<graph>.<key>", perturbed so they
    differ from the seeded initial values), evaluation.json ({"val": {...}} as the trainer
    writes it) and data.json (``data``; None: no data.json, as in older runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    project = load_template(template)
    save_project(project, folder / "project.lforge")
    tensors = {}
    gen = torch.Generator().manual_seed(7)
    for name, graph in project.graphs.items():
        module = compile_graph(graph, name, project.training.seed)
        for key, value in module.state_dict().items():
            if value.is_floating_point():
                value = value + 0.1 * torch.randn(value.shape, generator=gen)
            tensors[f"{name}.{key}"] = value.contiguous()
    if weights:
        save_file(tensors, str(folder / "weights.safetensors"))
    (folder / "evaluation.json").write_text(json.dumps(
        metrics or {"val": {"accuracy": 0.9731, "loss": 0.0912}}))
    if data is not None:
        (folder / "data.json").write_text(json.dumps(data))
    return folder


def chain(input_params: dict, blocks: list[tuple[str, str, dict]]) -> Graph:
    """A straight graph Input -> blocks... -> Output; blocks are (id, type, params)."""
    nodes = [Node(id="x", type="Input", params=input_params)]
    edges = []
    prev = "x"
    for nid, type_, params in blocks:
        nodes.append(Node(id=nid, type=type_, params=params))
        edges.append(Edge(src=prev, dst=nid))
        prev = nid
    nodes.append(Node(id="y", type="Output"))
    edges.append(Edge(src=prev, dst="y"))
    return Graph(nodes=nodes, edges=edges)


def save_graph_project(path: Path, graph: Graph, name: str = "test") -> Path:
    save_project(Project(name=name, graphs={"model": graph}), path)
    return path


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def sequence_zoo() -> Graph:
    """Every custom sequence module, for code generation and import round trips."""
    return chain({"shape": [-1], "dtype": "long", "vocab": 20},
                 [("embed", "Embedding", {"embedding_dim": 8}),
                  ("pos", "PositionalEncoding", {"max_len": 32, "learned": True}),
                  ("attn", "MultiheadAttention", {"num_heads": 2, "causal": True}),
                  ("block", "TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16,
                                                        "causal": True, "activation": "gelu"}),
                  ("block2", "TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16,
                                                         "norm_first": True}),
                  ("gru", "GRU", {"hidden_size": 6, "num_layers": 2}),
                  ("lstm", "LSTM", {"hidden_size": 6, "bidirectional": True,
                                    "output": "last"}),
                  ("head", "Linear", {"out_features": 3})])
