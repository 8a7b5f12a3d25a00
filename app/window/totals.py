"""The status bar's totals of the graph on screen: blocks, trainable and total parameters,
FLOPs, activation memory and the error count."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.text import fmt_bytes, fmt_count
from engine.composite import graph_split

if TYPE_CHECKING:
    from app.document import GraphDocument


def param_split(document: GraphDocument, graph: str) -> tuple[int, int]:
    """(trainable, total) parameters of ``graph`` as of the last edit."""
    graphs = document.project.graphs
    return graph_split(graphs, graphs[graph], document.analysis(graph))


def totals_text(document: GraphDocument, graph: str) -> str:
    """"model: 12 blocks · trainable 5.13k of 11.2M parameters · ..." (the trainable part
    only when something is frozen)."""
    a = document.analysis(graph)
    batch = document.project.training.batch_size
    errors = sum(1 for p in document.problems() if p.severity == "error" and p.graph == graph)
    state = f"{errors} error(s)" if errors else "no errors"
    trainable, total = param_split(document, graph)
    params = (f"trainable {fmt_count(trainable)} of {fmt_count(total)} parameters"
              if trainable != total else f"{fmt_count(total)} parameters")
    blocks = len(document.project.graphs[graph].nodes)
    return (f"{graph}: {blocks} block{'s' if blocks != 1 else ''} · {params} · "
            f"{fmt_count(a.total_flops)} FLOPs/sample · "
            f"{fmt_bytes(a.activation_bytes(batch))} activations at batch {batch} · {state}")
