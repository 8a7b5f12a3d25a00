"""Random edit sequences with composites and fine-tuning flags mixed in (group random
selections, ungroup, reuse, freeze, cut, insert): undoing everything gives back the original
project JSON exactly, redoing everything gives the final one, and the analysis always
matches a fresh analysis of the file."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.document import EditError, GraphDocument
from tests.app.test_composites import residual_project
from tests.app.test_document_random import N_OPS, NAMES, undo_all_then_redo_all
from tests.app.test_document_random import apply as plain_edit

KINDS = N_OPS + 7
op = st.tuples(st.integers(0, KINDS - 1), st.integers(0, 40), st.integers(0, 40),
               st.integers(-3, 300))


def _pick(seq, i):
    return seq[i % len(seq)] if seq else None


def _subset(ids: list[str], a: int, b: int) -> list[str]:
    """A contiguous run of ids (what a rubber band picks) or a scattered pick."""
    if not ids:
        return []
    start, size = a % len(ids), 1 + b % 3
    return ids[start:start + size] if a % 2 else [ids[(a * k + b) % len(ids)] for k in range(size)]


def edit(doc: GraphDocument, kind: int, a: int, b: int, c: int) -> None:
    if kind < N_OPS:
        plain_edit(doc, kind, a, b, c)
        return
    graphs = doc.graph_names()
    graph = _pick(graphs, a + b)
    nodes = [n.id for n in doc.graph(graph).nodes]
    groups = [n.id for n in doc.graph(graph).nodes if n.type == "Group"]
    kind -= N_OPS
    if kind == 0:
        doc.group(graph, _subset(nodes, a, b), _pick(NAMES, c) or "block")
    elif kind == 1 and groups:
        doc.ungroup(graph, _pick(groups, a))
    elif kind == 2:
        doc.set_trainable(graph, _subset(nodes, a, b), c % 2 == 0)
    elif kind == 3 and nodes:
        doc.cut_at(graph, _pick(nodes, a))
    elif kind == 4:
        doc.add_group_node(graph, _pick(graphs, c), (b * 20.0, c * 20.0))
    elif kind == 5:
        doc.set_lr_mult(graph, _subset(nodes, a, b), (abs(c) + 1) / 10)
    elif kind == 6:
        source = doc.graph(_pick(graphs, c)).model_copy(deep=True)
        doc.insert_composite(graph, _pick(NAMES, b) or "backbone", source, (a * 20.0, 0.0),
                             dataset={"mean": [c / 300], "std": [1.0]} if c % 2 else None)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=30))
def test_undo_all_restores_and_redo_all_replays_with_composites(qapp, ops):
    undo_all_then_redo_all(GraphDocument(residual_project()), ops, edit)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=st.integers(0, 40), b=st.integers(0, 40))
def test_group_then_ungroup_gives_back_the_same_wiring(qapp, a, b):
    doc = GraphDocument(residual_project())
    before = doc.project.graphs["model"]
    ids = _subset([n.id for n in before.nodes], a, b)
    try:
        _name, gid = doc.group("model", ids, "block")
    except EditError:
        return
    doc.ungroup("model", gid)
    after = doc.project.graphs["model"]
    assert list(doc.project.graphs) == ["model"]
    assert {(e.src, e.src_port, e.dst, e.dst_port) for e in after.edges} == \
        {(e.src, e.src_port, e.dst, e.dst_port) for e in before.edges}
    assert {n.id: (n.type, n.params, n.position) for n in after.nodes} == \
        {n.id: (n.type, n.params, n.position) for n in before.nodes}
