"""Fit between a project's graphs and its data: check it with messages that name the graph
and node and what to change, and adapt the project (Input blocks, the classifier's
out_features, a segmentation or detection head's classes, or the dataset's image size when
the network needs its own image size). The rules of the vision tasks are in
:mod:`engine.train.fit_vision`.

Both take the data as a loaded :class:`~engine.data.DataBundle` or as its
:class:`~engine.data.facts.DataFacts` (the editor's live check, without loading anything).
Torch-free, so the editor can run the check after every edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.data.facts import DataFacts, describe_kind, facts_of
from engine.graph import Problem
from engine.project import Graph, Project
from engine.shapes import analyze_graph
from engine.train import fit_text, fit_vision
from engine.train.fit_targets import target_problem, token_word
from engine.train.head import (
    CutError,
    add_head,
    cut_graph,
    image_into_head,
    pool_before_head,
    shape_text,
    source_of,
)

__all__ = ["FIT_MODEL", "CutError", "add_head", "check_fit", "cut_graph", "data_fit_errors",
           "fit_project", "fitted_data", "head_linear"]

if TYPE_CHECKING:
    from engine.data.core import DataBundle

#: Problem.fix of the problems that fit_project repairs (the app offers Fit model to data)
FIT_MODEL = "fit_model"

# Blocks that keep the feature count, walked through when looking for the output Linear.
_PASS_THROUGH = {"ReLU", "LeakyReLU", "GELU", "Tanh", "Sigmoid", "Dropout", "Identity",
                 "ELU", "SiLU", "Softplus", "Mish"}


def head_linear(graph: Graph) -> str | None:
    """The Linear that produces the (first) Output, through activations and dropout."""
    outs = [n.id for n in graph.nodes if n.type == "Output"]
    if not outs:
        return None
    cur = source_of(graph, outs[0])
    for _ in range(8):
        node = graph.node(cur) if cur else None
        if node is None:
            return None
        if node.type == "Linear":
            return node.id
        if node.type not in _PASS_THROUGH:
            return None
        cur = source_of(graph, node.id)
    return None


def _inputs(graph: Graph) -> list[str]:
    return [n.id for n in graph.nodes if n.type == "Input"]


def _facts(data: DataBundle | DataFacts) -> DataFacts:
    return data if isinstance(data, DataFacts) else facts_of(data)


def _data_graph(project: Project) -> str:
    return "discriminator" if project.task.kind == "gan" else "model"


def check_fit(project: Project, data: DataBundle | DataFacts) -> list[Problem]:
    """Problems between the project and its data: errors, and warnings (severity
    "warning") such as a classifier with more outputs than the data has classes. Each
    message says what to change; when :func:`fit_project` would make the project fit,
    every problem carries ``fix=FIT_MODEL``."""
    facts = _facts(data)
    probs = _check(project, facts, suggest=True)
    if probs and _fits_after_fitting(project, facts):
        probs = [Problem(p.graph, p.node, p.message, p.severity, FIT_MODEL) for p in probs]
    return probs


def data_fit_errors(project: Project) -> list[Problem]:
    """The errors between ``project`` and the data its dataset names (dataset paths
    absolute), found without training: the check a run must pass before its folder is
    made. Raises :class:`~engine.data.DataError` when the data cannot be read."""
    from engine.data.facts import data_facts

    return _errors(check_fit(project, data_facts(project.dataset)))


def _fits_after_fitting(project: Project, facts: DataFacts) -> bool:
    fitted, fitted_facts, _changes = _plan(project, facts)
    return not _errors(_check(fitted, fitted_facts, suggest=False))


def _offer_pool(graph: Graph, a, kind: str) -> list[Problem]:
    """The graph's errors; the classifier head's, when it gets an image because its backbone
    was cut, says that Fit model to data pools it (and offers the button)."""
    head = head_linear(graph) if kind == "classification" else None
    out = []
    for p in a.errors:
        if head is not None and p.node == head and image_into_head(graph, head, a):
            p = Problem(p.graph, p.node, p.message + "; Fit model to data adds a global "
                        "average pool before it", p.severity, FIT_MODEL)
        out.append(p)
    return out


def _errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def _check(project: Project, facts: DataFacts, *, suggest: bool) -> list[Problem]:
    kind = project.task.kind
    src = facts.source or project.dataset.describe()
    if kind == "seq2seq":  # two graphs: engine.train.fit_text
        target = target_problem(kind, facts, src)
        return [target] if target else fit_text.seq2seq_problems(project, facts, src)
    probs: list[Problem] = []
    data_graph = _data_graph(project)
    graph = project.graphs.get(data_graph)
    if graph is None:
        return [Problem(data_graph, None, f"a {kind} project needs a graph named {data_graph!r}")]
    target = target_problem(kind, facts, src)
    if target is not None:  # the rest would only echo it as shape errors
        return [target]
    a = analyze_graph(graph, data_graph, project.graphs)
    if not a.ok:
        return _offer_pool(graph, a, kind)
    ins = _inputs(graph)
    if len(ins) != 1:
        return [Problem(data_graph, None, f"training on {src} needs exactly one Input block, "
                        f"found {len(ins)}")]
    spec = a.nodes[ins[0]].out
    assert spec is not None
    want = tuple(facts.input_shape)
    have = tuple(spec.shape)
    other_dtype = spec.dtype != facts.input_dtype
    if other_dtype or (len(have) != len(want) and spec.dtype == "float"):
        made = describe_kind(have, spec.dtype, "audio" if fit_text.has_front_end(graph) else "")
        holds = describe_kind(want, facts.input_dtype, facts.kind)
        probs.append(Problem(data_graph, ins[0], f"takes {made} {shape_text(have)} but {src} "
                             f"gives {holds} {shape_text(want)}: this network is made for "
                             f"{made}, not {holds}; choose other data or a network made for "
                             f"{holds}"))
    elif len(have) != len(want) or any(h is not None and h != w
                                       for h, w in zip(have, want, strict=False)):
        fix = _input_fix(project, facts) if suggest else f"set shape to {list(want)}"
        probs.append(Problem(data_graph, ins[0], f"takes {shape_text(have)} but {src} gives "
                             f"{shape_text(want)}: {fix}"))
    if spec.dtype == "long" and not other_dtype and facts.vocab and (spec.vocab or 0) < len(facts.vocab):
        probs.append(Problem(data_graph, ins[0], f"has vocab {spec.vocab} but {src} has "
                             f"{len(facts.vocab)} {token_word(facts)}: set vocab to "
                             f"{len(facts.vocab)}"))
    probs += fit_text.front_end_problems(graph, data_graph, facts)
    outs = [o for o in a.output_specs() if o is not None]
    if not outs:
        return probs
    out = outs[0]
    if kind == "classification" and len(out.shape) != 1:
        probs.append(Problem(data_graph, a.structure.outputs[0], f"gives "
                             f"{shape_text(out.shape)} but a classifier gives one score per "
                             f"class for each sample, [N, classes]: pool or flatten before the "
                             f"last layer and add a Linear head with {facts.num_classes} outputs"))
        return probs
    if kind in ("classification", "language_model"):
        n = facts.num_classes
        what = "classes" if kind == "classification" else "characters"
        have_n = out.shape[-1] if out.shape else 1
        head = head_linear(graph)
        where = head or a.structure.outputs[0]
        fix = f": set out_features to {n}" if head else (
            f": add a Linear head with {n} outputs before the Output"
            if kind == "classification" else "")
        if have_n is not None and n and have_n < n:
            probs.append(Problem(data_graph, where, f"gives {have_n} outputs but {src} has {n} "
                                 f"{what}{fix}"))
        elif have_n is not None and n and have_n > n:
            probs.append(Problem(data_graph, where, f"gives {have_n} outputs but {src} has only "
                                 f"{n} {what}; the extra outputs are wasted{fix}",
                                 "warning"))
    elif kind == "speech":
        probs += fit_text.speech_output_problems(graph, data_graph, a.structure.outputs[0], out,
                                                 facts, src)
    elif kind in fit_vision.VISION:
        probs += fit_vision.output_problems(graph, data_graph, kind, a.structure.outputs[0], out,
                                            facts, src)
    elif kind == "autoencoder" and out.numel() != _numel(want):
        probs.append(Problem(data_graph, a.structure.outputs[0], f"reconstructs "
                             f"{shape_text(out.shape)} but the input is {shape_text(want)}: "
                             f"change the last layers so that they give the input's shape"))
    elif kind == "regression" and facts.target_shape and out.numel() != _numel(facts.target_shape):
        probs.append(Problem(data_graph, a.structure.outputs[0], f"gives {shape_text(out.shape)} "
                             f"but {src} has targets {shape_text(facts.target_shape)}"))
    elif kind == "gan":
        if out.numel() != 1:
            probs.append(Problem(data_graph, a.structure.outputs[0],
                                 "the discriminator must give one logit per sample"))
        probs += _check_generator(project, want, src)
    return probs


def _check_generator(project: Project, want: tuple, src: str) -> list[Problem]:
    graph = project.graphs.get("generator")
    if graph is None:
        return [Problem("generator", None, "a GAN project needs a graph named 'generator'")]
    a = analyze_graph(graph, "generator", project.graphs)
    if not a.ok:
        return list(a.errors)
    probs = []
    ins = a.input_specs()
    latent = project.task.latent_dim
    if len(ins) != 1 or ins[0] is None or tuple(ins[0].shape) != (latent,):
        node = a.structure.inputs[0] if a.structure.inputs else None
        probs.append(Problem("generator", node, f"the generator must take noise [N, {latent}] "
                             f"(task latent_dim): set shape to [{latent}]"))
    outs = a.output_specs()
    if outs and outs[0] is not None and tuple(outs[0].shape) != want:
        made = shape_text(outs[0].shape)
        probs.append(Problem("generator", a.structure.outputs[0], f"makes {made} but {src} "
                             f"images are {shape_text(want)}: change the generator's last "
                             f"layers to make {shape_text(want)}, or choose images of {made}"))
    return probs


def _numel(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= d or 1
    return n


def fit_project(project: Project, data: DataBundle | DataFacts) -> list[str]:
    """Adapt ``project`` in place to ``data``: the Input's shape, dtype and vocab from the
    data, the out_features of the Linear feeding the Output for classifiers and language
    models, the classes of a segmentation or detection head, a GAN generator's noise.
    When the network cannot take the data's image size (a convolution would shrink 8x8
    digits to nothing; a U-Net's skip connections need sides its poolings halve evenly) but
    takes its own, square one, the dataset's image size is set to that instead, so the data
    is resized to what the network was made for. Returns one sentence per change."""
    fitted, _facts_after, changes = _plan(project, _facts(data))
    project.graphs = fitted.graphs
    project.dataset = fitted.dataset
    return changes


def fitted_data(project: Project, data: DataBundle | DataFacts) -> DataFacts:
    """The facts of ``data`` once ``project.dataset`` (as fit_project left it) applies: the
    images resized to the dataset's image size."""
    facts = _facts(data)
    size = project.dataset.image_size
    return facts.resized(size) if size and facts.resizable else facts


def _plan(project: Project, facts: DataFacts) -> tuple[Project, DataFacts, list[str]]:
    """The fitted copy of ``project``, the data's facts as it will see them, and the
    sentences saying what changed: the first way that leaves no error (keep the data and
    take its shape; else resize the images to the network's own size), else the first."""
    if target_problem(project.task.kind, facts, facts.source) is not None:
        return project.model_copy(deep=True), facts, []  # no shape helps: the check says why
    tries: list[tuple[Project, DataFacts, list[str]]] = []
    for size in (None, _own_image_size(project, facts)):
        if size is None and tries:
            break
        cand = project.model_copy(deep=True)
        seen, changes = facts, []
        if size is not None:
            cand.dataset.image_size = size
            seen = facts.resized(size)
            changes.append(f"dataset: image size set to {size}, the size the network was made "
                           f"for ({facts.source} images are {facts.input_shape[1]}x"
                           f"{facts.input_shape[2]} and are resized)")
        changes += _fit_graphs(cand, seen)
        if not _errors(_check(cand, seen, suggest=False)):
            return cand, seen, changes
        tries.append((cand, seen, changes))
    cand, seen, changes = tries[0]
    if _rank_differs(project, facts):
        # Giving an image network vectors (or the reverse) only moves the error downstream:
        # keep the Input, so the check says plainly that the data is of another kind.
        cand = project.model_copy(deep=True)
        changes = _fit_graphs(cand, facts, inputs=False)
    return cand, seen, changes


def _input_node(project: Project) -> tuple[Graph, str] | None:
    graph = project.graphs.get(_data_graph(project))
    ins = _inputs(graph) if graph is not None else []
    return (graph, ins[0]) if graph is not None and len(ins) == 1 else None


def _shape_param(params: dict[str, Any]) -> list[Any]:
    """An Input's ``shape`` parameter as a list; [] for anything else a damaged file may hold
    there (the graph check names that problem)."""
    shape = params.get("shape")
    return list(shape) if isinstance(shape, list | tuple) else []


def _own_image_size(project: Project, facts: DataFacts) -> int | None:
    """The side of the Input's square images when the data are images of another size."""
    found = _input_node(project)
    if found is None or not facts.resizable:
        return None
    node = found[0].node(found[1])
    assert node is not None
    shape = _shape_param(node.params)
    if len(shape) != 3 or shape[1] != shape[2] or not isinstance(shape[1], int):
        return None
    side = shape[1]
    if not 4 <= side <= 1024 or tuple(facts.input_shape[1:]) == (side, side):
        return None
    return side


def _rank_differs(project: Project, facts: DataFacts) -> bool:
    found = _input_node(project)
    if found is None:
        return False
    node = found[0].node(found[1])
    assert node is not None
    shape = _shape_param(node.params)
    dtype = node.params.get("dtype", "float")
    if dtype != facts.input_dtype:  # token ids for a network of real values, or the reverse
        return True
    return dtype == "float" and len(shape) != len(facts.input_shape)


def _input_fix(project: Project, facts: DataFacts) -> str:
    """What to change so the Input takes the data, as Fit model to data would do it."""
    fitted, seen, _changes = _plan(project, facts)
    if fitted.dataset.image_size != project.dataset.image_size and seen is not facts:
        size = fitted.dataset.image_size
        return (f"set the dataset's image size to {size}, the size this network was made for "
                f"(its blocks need images that large)")
    return f"set shape to {list(facts.input_shape)}"


def _fit_graphs(project: Project, facts: DataFacts, *, inputs: bool = True) -> list[str]:
    """Fit the graphs of ``project`` in place to ``facts``; one sentence per change."""
    changes: list[str] = []
    kind = project.task.kind
    if kind == "seq2seq":
        return fit_text.fit_seq2seq(project, facts)
    for gname in (_data_graph(project),):
        graph = project.graphs.get(gname)
        if graph is None:
            continue
        changes += fit_text.fit_front_ends(graph, gname, facts)
        if kind == "speech":
            changes += fit_text.fit_speech_head(graph, gname, facts)
        ins = _inputs(graph)
        if inputs and len(ins) == 1:
            node = graph.node(ins[0])
            assert node is not None
            params = dict(node.params)
            said = []
            if _shape_param(params) != list(facts.input_shape):
                params["shape"] = list(facts.input_shape)
                said.append(f"shape {list(facts.input_shape)}")
            if params.get("dtype", "float") != facts.input_dtype:
                params["dtype"] = facts.input_dtype
                said.append(f"dtype {facts.input_dtype}")
            if facts.input_dtype == "long" and facts.vocab and params.get("vocab") != len(facts.vocab):
                params["vocab"] = len(facts.vocab)
                said.append(f"vocab {len(facts.vocab)}")
            if said:
                changes.append(f"{gname}/{node.id}: set {', '.join(said)}")
                node.params = params
        n = facts.num_classes
        if kind in fit_vision.VISION:
            changes += fit_vision.fit_head(graph, gname, kind, n)
        head = head_linear(graph) if kind in ("classification", "language_model") else None
        if kind == "classification" and n and head is None:
            changes += add_head(graph, gname, n, project.graphs)
        elif head and n:
            changes += pool_before_head(graph, gname, head, project.graphs)
            node = graph.node(head)
            assert node is not None
            if node.params.get("out_features") != n:
                node.params = {**node.params, "out_features": n}
                changes.append(f"{gname}/{head}: out_features set to {n}")
    if kind == "gan" and "generator" in project.graphs:
        gen = project.graphs["generator"]
        gi = _inputs(gen)
        if len(gi) == 1:
            node = gen.node(gi[0])
            assert node is not None
            if _shape_param(node.params) != [project.task.latent_dim]:
                node.params = {**node.params, "shape": [project.task.latent_dim], "dtype": "float"}
                changes.append(f"generator/{node.id}: noise set to [N, {project.task.latent_dim}]")
    return changes
