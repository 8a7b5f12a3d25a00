"""Fit between a project's graphs and a loaded dataset: check it with messages that name the
graph and node, and adapt the project (Input blocks, the classifier's out_features)."""

from __future__ import annotations

from engine.data import DataBundle
from engine.graph import Problem
from engine.project import Graph, Project
from engine.shapes import analyze_graph

# Blocks that keep the feature count, walked through when looking for the output Linear.
_PASS_THROUGH = {"ReLU", "LeakyReLU", "GELU", "Tanh", "Sigmoid", "Dropout", "Identity",
                 "ELU", "SiLU", "Softplus", "Mish"}


def _src(graph: Graph, node_id: str) -> str | None:
    for e in graph.edges:
        if e.dst == node_id:
            return e.src
    return None


def head_linear(graph: Graph) -> str | None:
    """The Linear that produces the (first) Output, through activations and dropout."""
    outs = [n.id for n in graph.nodes if n.type == "Output"]
    if not outs:
        return None
    cur = _src(graph, outs[0])
    for _ in range(8):
        node = graph.node(cur) if cur else None
        if node is None:
            return None
        if node.type == "Linear":
            return node.id
        if node.type not in _PASS_THROUGH:
            return None
        cur = _src(graph, node.id)
    return None


def _inputs(graph: Graph) -> list[str]:
    return [n.id for n in graph.nodes if n.type == "Input"]


def _shape_text(shape: tuple | list) -> str:
    return "[N, " + ", ".join("T" if d in (None, -1) else str(d) for d in shape) + "]"


def check_fit(project: Project, bundle: DataBundle) -> list[Problem]:
    """Problems between the project and ``bundle``: errors, and warnings (severity
    "warning") such as a classifier with more outputs than the data has classes."""
    kind = project.task.kind
    src = bundle.source or project.dataset.describe()
    probs: list[Problem] = []
    data_graph = "discriminator" if kind == "gan" else "model"
    graph = project.graphs.get(data_graph)
    if graph is None:
        return [Problem(data_graph, None, f"a {kind} project needs a graph named {data_graph!r}")]
    target = _target_problem(kind, bundle, src)
    if target is not None:  # the rest would only echo it as shape errors
        return [target]
    a = analyze_graph(graph, data_graph)
    if not a.ok:
        return list(a.errors)
    ins = _inputs(graph)
    if len(ins) != 1:
        return [Problem(data_graph, None, f"training on {src} needs exactly one Input block, "
                        f"found {len(ins)}")]
    spec = a.nodes[ins[0]].out
    assert spec is not None
    want = tuple(bundle.input_shape)
    have = tuple(spec.shape)
    if len(have) != len(want) or any(h is not None and h != w for h, w in zip(have, want, strict=False)):
        probs.append(Problem(data_graph, ins[0], f"takes {_shape_text(have)} but {src} gives "
                             f"{_shape_text(want)}: set shape to {list(want)}"))
    if spec.dtype != bundle.input_dtype:
        probs.append(Problem(data_graph, ins[0], f"has dtype {spec.dtype} but {src} gives "
                             f"{bundle.input_dtype}: set dtype to {bundle.input_dtype}"))
    elif spec.dtype == "long" and bundle.vocab and (spec.vocab or 0) < len(bundle.vocab):
        probs.append(Problem(data_graph, ins[0], f"has vocab {spec.vocab} but {src} has "
                             f"{len(bundle.vocab)} characters: set vocab to {len(bundle.vocab)}"))
    outs = [o for o in a.output_specs() if o is not None]
    if not outs:
        return probs
    out = outs[0]
    if kind == "classification" and len(out.shape) != 1:
        probs.append(Problem(data_graph, a.structure.outputs[0], f"gives "
                             f"{_shape_text(out.shape)} but a classifier gives one score per "
                             f"class for each sample, [N, classes]: pool or flatten before the "
                             f"last layer"))
        return probs
    if kind in ("classification", "language_model"):
        n = bundle.num_classes
        what = "classes" if kind == "classification" else "characters"
        have_n = out.shape[-1] if out.shape else 1
        head = head_linear(graph)
        where = head or a.structure.outputs[0]
        fix = f": set out_features to {n}" if head else ""
        if have_n is not None and n and have_n < n:
            probs.append(Problem(data_graph, where, f"gives {have_n} outputs but {src} has {n} "
                                 f"{what}{fix}"))
        elif have_n is not None and n and have_n > n:
            probs.append(Problem(data_graph, where, f"gives {have_n} outputs but {src} has only "
                                 f"{n} {what}; the extra outputs are wasted{fix}",
                                 "warning"))
    elif kind == "autoencoder" and out.numel() != _numel(want):
        probs.append(Problem(data_graph, a.structure.outputs[0], f"reconstructs "
                             f"{_shape_text(out.shape)} but the input is {_shape_text(want)}"))
    elif kind == "regression" and bundle.target_shape and out.numel() != _numel(bundle.target_shape):
        probs.append(Problem(data_graph, a.structure.outputs[0], f"gives {_shape_text(out.shape)} "
                             f"but {src} has targets {_shape_text(bundle.target_shape)}"))
    elif kind == "gan":
        if out.numel() != 1:
            probs.append(Problem(data_graph, a.structure.outputs[0],
                                 "the discriminator must give one logit per sample"))
        probs += _check_generator(project, want, src)
    return probs


# What each task needs of the data's targets (DataBundle.target), and how to say it.
_NEEDS = {
    "classification": ("class", "classification needs class labels"),
    "regression": ("real", "regression needs numeric targets"),
    "language_model": ("next_token", "a language model needs a text corpus"),
}


def _target_problem(kind: str, bundle: DataBundle, src: str) -> Problem | None:
    """An error when the task cannot use the data's targets (regression on classes...)."""
    need = _NEEDS.get(kind)
    if need is None or bundle.target == need[0]:
        return None
    has = {"class": f"has {bundle.num_classes} classes", "real": "has numeric targets",
           "next_token": "is a text corpus"}.get(bundle.target, "has no targets")
    if kind == "regression" and bundle.target == "class":
        fix = ("set task.kind to classification, or use data whose target is a number (a CSV "
               "with a numeric target column)")
    elif kind == "classification" and bundle.target == "real":
        fix = ("set task.kind to regression, or set dataset.options.task to 'class' to treat "
               "each distinct number as a class")
    elif kind == "language_model":
        fix = "use a text data set (text:FILE or builtin:pytext)"
    else:
        fix = "choose a data set that has them, or another task.kind"
    return Problem("task.kind", None, f"{need[1]}, but {src} {has}: {fix}")


def _check_generator(project: Project, want: tuple, src: str) -> list[Problem]:
    graph = project.graphs.get("generator")
    if graph is None:
        return [Problem("generator", None, "a GAN project needs a graph named 'generator'")]
    a = analyze_graph(graph, "generator")
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
        probs.append(Problem("generator", a.structure.outputs[0], f"makes "
                             f"{_shape_text(outs[0].shape)} but {src} images are {_shape_text(want)}"))
    return probs


def _numel(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= d or 1
    return n


def fit_project(project: Project, bundle: DataBundle) -> list[str]:
    """Adapt ``project`` in place to ``bundle``: Input shape, dtype and vocab from the data,
    and the out_features of the Linear feeding the Output for classification and language
    models. Returns one sentence per change."""
    changes: list[str] = []
    kind = project.task.kind
    for gname in (("discriminator",) if kind == "gan" else ("model",)):
        graph = project.graphs.get(gname)
        if graph is None:
            continue
        ins = _inputs(graph)
        if len(ins) == 1:
            node = graph.node(ins[0])
            assert node is not None
            params = dict(node.params)
            said = []
            if list(params.get("shape", [])) != list(bundle.input_shape):
                params["shape"] = list(bundle.input_shape)
                said.append(f"shape {list(bundle.input_shape)}")
            if params.get("dtype", "float") != bundle.input_dtype:
                params["dtype"] = bundle.input_dtype
                said.append(f"dtype {bundle.input_dtype}")
            if bundle.input_dtype == "long" and bundle.vocab and params.get("vocab") != len(bundle.vocab):
                params["vocab"] = len(bundle.vocab)
                said.append(f"vocab {len(bundle.vocab)}")
            if said:
                changes.append(f"{gname}/{node.id}: set {', '.join(said)}")
                node.params = params
        n = bundle.num_classes
        head = head_linear(graph) if kind in ("classification", "language_model") else None
        if head and n:
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
            if list(node.params.get("shape", [])) != [project.task.latent_dim]:
                node.params = {**node.params, "shape": [project.task.latent_dim], "dtype": "float"}
                changes.append(f"generator/{node.id}: noise set to [N, {project.task.latent_dim}]")
    return changes
