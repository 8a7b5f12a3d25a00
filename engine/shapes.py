"""Whole-graph analysis: shape, parameters, FLOPs and activation size of every node.

Pure Python per-block rules (no torch), so the editor can rerun it after every edit.
Errors are attached to the node that caused them; nodes downstream of an error get no shape
and no error of their own (they are waiting for their input, not wrong).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.blocks.base import ShapeError, TensorSpec
from engine.composite import GROUP, input_ids
from engine.graph import Problem, Structure, check_structure
from engine.memory import memory_problems
from engine.project import Graph, Project


@dataclass(slots=True)
class NodeInfo:
    out: TensorSpec | None = None
    ins: list[TensorSpec] = field(default_factory=list)
    params: int = 0
    flops: int = 0
    activations: int = 0  # output elements per sample (every inner one for a composite)
    error: str | None = None
    #: a composite (Group) node's analysis of its graph with these inputs
    inner: GraphAnalysis | None = None


@dataclass(slots=True)
class GraphAnalysis:
    structure: Structure
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def total_params(self) -> int:
        return sum(i.params for i in self.nodes.values())

    @property
    def total_flops(self) -> int:
        return sum(i.flops for i in self.nodes.values())

    @property
    def total_activations(self) -> int:
        return sum(i.activations for i in self.nodes.values())

    def activation_bytes(self, batch_size: int, bytes_per_element: int = 4) -> int:
        """Memory for the forward activations of one batch (what training keeps for backward)."""
        return self.total_activations * batch_size * bytes_per_element

    def input_specs(self) -> list[TensorSpec | None]:
        return [self.nodes[n].out for n in self.structure.inputs]

    def output_specs(self) -> list[TensorSpec | None]:
        return [self.nodes[n].out for n in self.structure.outputs]


def analyze_graph(graph: Graph, name: str = "model",
                  library: Mapping[str, Graph] | None = None,
                  inputs: Mapping[str, TensorSpec] | None = None,
                  within: tuple[str, ...] = ()) -> GraphAnalysis:
    """Shapes, parameters, FLOPs and problems of every node of ``graph``.

    ``library`` is the project's graphs, needed for composite (Group) nodes; ``inputs``
    replaces the shape of Input nodes by id (a composite analysed with its use's inputs);
    ``within`` names the composites being analysed around this one (to refuse a cycle).
    """
    s = check_structure(graph, name, library)
    a = GraphAnalysis(s, problems=list(s.problems))
    nodes = a.nodes
    for nid in s.blocks:
        nodes[nid] = NodeInfo()
    for nid in s.order:
        if nid in s.broken:
            continue
        info = nodes[nid]
        if inputs is not None and nid in inputs:
            info.out = inputs[nid]
            continue
        ins: list[TensorSpec] = []
        for src in s.sources[nid]:
            spec = nodes[src].out if src is not None else None
            if spec is None:
                break
            ins.append(spec)
        else:
            block = s.blocks[nid]
            p = s.params[nid]
            try:
                if block.type == GROUP:
                    out = _analyze_use(info, library or {}, p["graph"], ins, (*within, name))
                else:
                    out = block.infer(p, ins)
                    info.params = block.param_count(p, ins)
                    info.flops = block.flops(p, ins, out)
            except ShapeError as e:
                info.error = str(e)
                a.problems.append(Problem(name, nid, info.error))
                continue
            info.ins = ins
            info.out = out
            if block.has_output and block.type not in ("Input", GROUP):
                info.activations = out.numel()
    return a


def _analyze_use(info: NodeInfo, library: Mapping[str, Graph], target: str,
                 ins: list[TensorSpec], within: tuple[str, ...]) -> TensorSpec:
    """Analyse the composite ``target`` with the inputs one Group node gives it."""
    if target in within:
        chain = " -> ".join([*within[within.index(target):], target])
        raise ShapeError(f"the composite {target!r} uses itself ({chain}): a composite cannot "
                         "contain a block that runs it")
    graph = library[target]
    inner = analyze_graph(graph, target, library, dict(zip(input_ids(graph), ins, strict=True)),
                          within)
    errors = inner.errors
    if errors:
        first = errors[0]
        where = f"{first.node}: " if first.node else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ShapeError(f"inside {target}, {where}{first.message}{more}: open its tab to fix it")
    out = inner.output_specs()[0]
    assert out is not None  # no errors: every live node has a shape
    info.inner = inner
    info.params = inner.total_params
    info.flops = inner.total_flops
    info.activations = inner.total_activations
    return out


def analyze_project(project: Project) -> dict[str, GraphAnalysis]:
    return {name: analyze_graph(g, name, project.graphs) for name, g in project.graphs.items()}


def project_problems(project: Project, analyses: dict[str, GraphAnalysis] | None = None) -> list[Problem]:
    """Every problem in the project: per graph, plus what the task needs of the graphs, plus
    a warning when training it needs more memory than its device has, plus a warning per
    saved search range whose key names no field."""
    analyses = analyses if analyses is not None else analyze_project(project)
    out = [p for a in analyses.values() for p in a.problems]
    kind = project.task.kind
    if kind == "gan":
        for needed in ("generator", "discriminator"):
            if needed not in project.graphs:
                out.append(Problem(needed, None, f"a GAN project needs a graph named {needed!r}"))
    elif kind == "seq2seq":
        from engine.train.fit_text import seq2seq_structure  # torch-free, like freeze's

        out += seq2seq_structure(project, analyses)
    elif "model" not in project.graphs:
        out.append(Problem("model", None, f"a {kind} project needs a graph named 'model'"))
    out += memory_problems(project, analyses)
    out += _batch_norm_problems(project)
    from engine.train.freeze import finetune_problems  # torch-free; engine.train loads lazily

    out += finetune_problems(project)
    if project.training.privacy.enabled:  # what private training cannot take (torch-free)
        from engine.train.privacy_check import privacy_problems

        out += privacy_problems(project, analyses)
    if project.sweep.ranges:  # saved search ranges whose key names no field (warnings)
        from engine.sweep.space import range_problems

        out += range_problems(project)
    return out


def _batch_norm_problems(project: Project) -> list[Problem]:
    """A BatchNorm cannot train on one sample per batch (PyTorch refuses it mid-run)."""
    if project.training.batch_size > 1:
        return []
    return [Problem(name, node.id, f"{node.type} needs at least 2 samples per batch to train, "
                    "and the batch size is 1: set the batch size to 2 or more, or use "
                    "LayerNorm or GroupNorm")
            for name, graph in project.graphs.items() for node in graph.nodes
            if node.type in ("BatchNorm1d", "BatchNorm2d")]
