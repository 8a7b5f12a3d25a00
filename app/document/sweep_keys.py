"""Search-range keys of the project's sweep (``Project.sweep.ranges``) as the editor sees them.

A key is a setting (``training.lr``) or a block field ``GRAPH/NODE.PARAM`` (``NODE.PARAM``
when the project has one graph), exactly as ``engine.sweep.space.resolve_key`` reads it. The
functions here are plain (no Qt): which block a key names, the ranges of one block, and how
the keys follow an edit that renames or removes blocks or graphs, so the ranges never name
a block that is gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.project import Project
from engine.sweep.space import SECTIONS, SweepError, parse_spec

#: (graph, node id, field) a block key names
BlockTarget = tuple[str, str, str]


def block_target(project: Project, key: str) -> BlockTarget | None:
    """The block field ``key`` names, whether or not that block exists; None for a setting
    or a key that names no block field (e.g. ``NODE.PARAM`` in a project of several graphs)."""
    head, dot, name = key.rpartition(".")
    if not dot or not head or not name or ("/" not in key and head in SECTIONS):
        return None
    graph, slash, node = head.rpartition("/")
    if not slash:
        if len(project.graphs) != 1:
            return None
        graph = next(iter(project.graphs))
    return (graph, node, name) if graph and node else None


def block_key(graph: str, node_id: str, field: str) -> str:
    """The key the editor writes for a block field: always the full ``GRAPH/NODE.PARAM``, so
    it stays right when a second graph is added."""
    return f"{graph}/{node_id}.{field}"


def same_field_key(project: Project, key: str) -> str | None:
    """The key already in the ranges that names the same field as ``key`` (``fc1.units``
    and ``model/fc1.units`` do), or None."""
    ranges = project.sweep.ranges
    if key in ranges:
        return key
    target = block_target(project, key)
    if target is None:
        return None
    return next((k for k in ranges if block_target(project, k) == target), None)


def block_ranges(project: Project, graph: str, node_id: str) -> list[tuple[str, str]]:
    """(field, spec) of every range on one block, in the project's order."""
    out = []
    for key, spec in project.sweep.ranges.items():
        target = block_target(project, key)
        if target is not None and target[:2] == (graph, node_id):
            out.append((target[2], spec))
    return out


def live_targets(project: Project) -> dict[str, BlockTarget]:
    """The block keys whose block exists now (a key that already names nothing is left
    alone by ``follow``: the problems list reports it)."""
    out = {}
    for key in project.sweep.ranges:
        t = block_target(project, key)
        g = project.graphs.get(t[0]) if t is not None else None
        if t is not None and g is not None and g.node(t[1]) is not None:
            out[key] = t
    return out


def follow(project: Project, before: Mapping[str, BlockTarget],
           renames: Iterable[tuple[str, str, str]]) -> dict[str, str] | None:
    """The ranges after an edit, or None when they need no change.

    ``before`` is ``live_targets`` from before the edit, ``renames`` what the edit renamed,
    in order: a block as ``(graph, old, new)``, a graph as ``("", old, new)``. A key whose
    block was renamed is rewritten in its place in the order; a key whose block is gone
    after the edit is dropped."""
    moved = dict(before)
    for graph, old, new in renames:
        for key, (g, n, f) in moved.items():
            if not graph and g == old:
                moved[key] = (new, n, f)
            elif graph and (g, n) == (graph, old):
                moved[key] = (g, new, f)
    out: dict[str, str] = {}
    changed = False
    for key, spec in project.sweep.ranges.items():
        if key not in moved:
            out[key] = spec
            continue
        g, n, f = moved[key]
        graph = project.graphs.get(g)
        if graph is None or graph.node(n) is None:
            changed = True  # the block is gone: its ranges go with it
            continue
        new_key = key if moved[key] == before[key] and block_target(project, key) == (g, n, f) \
            else block_key(g, n, f)
        changed |= new_key != key
        out[new_key] = spec
    return out if changed else None


def describe_spec(spec: str) -> str:
    """A range for people: ``float:0.0001..0.1:log`` -> ``0.0001..0.1 log``,
    ``int:16..256:16`` -> ``16..256 step 16``, ``choice:a,b`` -> ``a, b``."""
    try:
        rng = parse_spec("", spec)
    except SweepError:
        return spec
    if rng.kind == "choice":
        return ", ".join(str(v).lower() if isinstance(v, bool) else str(v) for v in rng.choices)
    text = rng.spec().split(":", 1)[1].split(":")[0]
    if rng.log:
        return f"{text} log"
    return f"{text} step {rng.spec().rsplit(':', 1)[1]}" if rng.step is not None else text
