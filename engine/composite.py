"""Composite blocks (decision 0001): which graphs of a project are used as blocks, and by
whom. Pure Python, no torch: the editor asks after every edit.

A composite is an ordinary graph of ``project.graphs`` that some ``Group`` node names in its
``graph`` parameter. Its Input nodes, in graph order, are the Group node's input ports; its
one Output is the Group node's output.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.project import Graph, Project

GROUP = "Group"


def group_target(node_type: str, params: Mapping[str, object]) -> str | None:
    """The graph a node runs, if it is a Group node naming one."""
    if node_type != GROUP:
        return None
    target = params.get("graph")
    return target if isinstance(target, str) else None


def uses(graphs: Mapping[str, Graph]) -> dict[str, list[tuple[str, str]]]:
    """Graph name -> the (parent graph, Group node id) pairs that use it, in project order."""
    out: dict[str, list[tuple[str, str]]] = {}
    for parent, graph in graphs.items():
        for node in graph.nodes:
            target = group_target(node.type, node.params)
            if target is not None:
                out.setdefault(target, []).append((parent, node.id))
    return out


def composite_names(graphs: Mapping[str, Graph]) -> set[str]:
    """The graphs some Group node uses (whether or not they exist)."""
    return {name for name in uses(graphs) if name in graphs}


def top_level(project: Project) -> list[str]:
    """The graphs that are not used as composites, in project order."""
    used = composite_names(project.graphs)
    return [name for name in project.graphs if name not in used]


def input_ids(graph: Graph) -> list[str]:
    """A composite's input ports: its Input node ids in graph order."""
    return [n.id for n in graph.nodes if n.type == "Input"]


def port_problem(library: Mapping[str, Graph] | None, target: str) -> str | None:
    """Why a Group node naming ``target`` cannot be used, or None."""
    if library is None:
        return f"the composite {target!r} can only be analysed within its project"
    if not target:
        return "choose the graph this composite block runs (its graph parameter is empty)"
    if target not in library:
        have = ", ".join(sorted(library)) or "none"
        return f"uses the graph {target!r}, which does not exist in this project (graphs: {have})"
    outputs = sum(1 for n in library[target].nodes if n.type == "Output")
    if outputs != 1:
        return (f"the composite {target!r} needs exactly one Output block to be used as a "
                f"block, and it has {outputs}: open its tab and "
                + ("add one" if outputs == 0 else "keep one"))
    return None


def descendants(graphs: Mapping[str, Graph], name: str) -> list[str]:
    """The composites ``name`` uses, directly or through others (each once, no cycles)."""
    seen: list[str] = []
    stack = [name]
    while stack:
        graph = graphs.get(stack.pop())
        if graph is None:
            continue
        for node in graph.nodes:
            target = group_target(node.type, node.params)
            if target is not None and target not in seen and target != name:
                seen.append(target)
                stack.append(target)
    return seen


def param_split(project: Project, analyses: Mapping[str, object] | None = None) -> tuple[int, int]:
    """(trainable, total) parameters of the graphs a run trains. A frozen node (its
    ``trainable`` off) counts as not trainable, and so does everything inside a frozen
    Group node; inside a composite, frozen inner blocks count as frozen in every use."""
    from engine.memory import trained_graphs
    from engine.shapes import analyze_graph

    trainable = total = 0
    for name in trained_graphs(project):
        a = analyses.get(name) if analyses else None
        if a is None:
            a = analyze_graph(project.graphs[name], name, project.graphs)
        t, n = graph_split(project.graphs, project.graphs[name], a)
        trainable += t
        total += n
    return trainable, total


def graph_split(graphs: Mapping[str, Graph], graph: Graph, a,
                frozen: bool = False) -> tuple[int, int]:
    """(trainable, total) parameters of one analysed graph (``frozen``: all of it is)."""
    trainable = total = 0
    for node in graph.nodes:
        info = a.nodes.get(node.id)
        if info is None:
            continue
        off = frozen or not node.trainable
        target = group_target(node.type, node.params)
        if target is not None and target in graphs and info.inner is not None:
            t, n = graph_split(graphs, graphs[target], info.inner, off)
        else:
            n = info.params
            t = 0 if off else n
        trainable += t
        total += n
    return trainable, total
