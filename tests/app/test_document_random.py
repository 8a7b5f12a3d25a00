"""Random edit sequences: undoing everything gives back the original project JSON exactly,
redoing everything gives the final one, and the analysis always matches the project."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.document import EditError, GraphDocument
from engine.blocks import CATALOG
from engine.project import parse_project
from engine.shapes import project_problems
from tests.app.conftest import chain_project

TYPES = sorted(CATALOG)
NAMES = ["a", "Hidden Layer", "fc1", "x", "2nd", "", "for", "ÜberNode"]
N_OPS = 13

op = st.tuples(st.integers(0, N_OPS - 1), st.integers(0, 40), st.integers(0, 40),
               st.integers(-3, 300))


def _pick(seq, i):
    return seq[i % len(seq)] if seq else None


def apply(doc: GraphDocument, kind: int, a: int, b: int, c: int) -> None:
    graphs = doc.graph_names()
    graph = _pick(graphs, a + b)
    nodes = [n.id for n in doc.graph(graph).nodes]
    if kind == 0:
        doc.add_node(graph, _pick(TYPES, a * 7 + b), (b * 20, c * 20))
    elif kind == 1 and nodes:
        doc.remove(graph, {_pick(nodes, a), _pick(nodes, b)})
    elif kind == 2 and nodes:
        doc.move_nodes(graph, {_pick(nodes, a): (b * 10.0, c * 10.0), _pick(nodes, c): (c, b)})
    elif kind == 3 and nodes:
        src, dst = _pick(nodes, a), _pick(nodes, b)
        port = _pick(list(doc.input_ports(graph, dst)), c) or "in"
        if doc.connection_problem(graph, src, dst, port) is None:
            doc.connect(graph, src, dst, port)
    elif kind == 4 and doc.graph(graph).edges:
        e = _pick(doc.graph(graph).edges, a)
        doc.disconnect(graph, (e.src, e.src_port, e.dst, e.dst_port))
    elif kind == 5 and nodes:
        node = doc.node(graph, _pick(nodes, a))
        params = CATALOG[node.type].params
        if params:
            p = _pick(params, b)
            value = {"int": c, "float": c / 7, "bool": c % 2 == 0, "choice": _pick(p.choices, c),
                     "str": str(c), "size": [c, c + 1] if c % 3 else c, "ints": [c, 2]}[p.kind]
            doc.set_param(graph, node.id, p.name, value)
    elif kind == 6 and nodes:
        doc.rename_node(graph, _pick(nodes, a), _pick(NAMES, b) or "n")
    elif kind == 7 and nodes:
        payload = doc.copy_payload(graph, {_pick(nodes, a), _pick(nodes, b)})
        doc.paste(_pick(graphs, c), payload, (20.0, 20.0))
    elif kind == 8:
        doc.add_graph(_pick(NAMES, a) or "graph")
    elif kind == 9 and len(graphs) > 1:
        doc.remove_graph(graph)
    elif kind == 10:
        doc.rename_graph(graph, _pick(NAMES, c) or "g")
    elif kind == 11:
        field, value = _pick([("batch_size", max(1, c)), ("lr", (abs(c) + 1) / 1000),
                              ("epochs", max(1, c)), ("optimizer", "sgd")], a)
        doc.set_field("training", field, value)
    elif kind == 12 and nodes:
        doc.set_label(graph, _pick(nodes, a), _pick(NAMES, b) + str(c))


def fresh_problems(doc: GraphDocument) -> list[str]:
    return [str(p) for p in project_problems(parse_project(doc.to_json()))]


def undo_all_then_redo_all(doc: GraphDocument, ops, edit) -> None:
    """Make ``edit(doc, *op)`` for each op (refused ones change nothing), then undo all and
    redo all: the JSON comes back byte for byte each way, and the problems always equal
    those of the saved file read afresh."""
    original = doc.to_json()
    for kind, a, b, c in ops:
        try:
            edit(doc, kind, a, b, c)
        except EditError:
            pass  # a refused edit changes nothing; the sequence goes on
    final = doc.to_json()
    assert [str(p) for p in doc.problems()] == fresh_problems(doc)
    while doc.undo_stack.canUndo():
        doc.undo()
    assert doc.to_json() == original
    assert [str(p) for p in doc.problems()] == fresh_problems(doc)
    while doc.undo_stack.canRedo():
        doc.redo()
    assert doc.to_json() == final
    assert [str(p) for p in doc.problems()] == fresh_problems(doc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=30))
def test_undo_all_restores_and_redo_all_replays(qapp, ops):
    undo_all_then_redo_all(GraphDocument(chain_project()), ops, apply)
