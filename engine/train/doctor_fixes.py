"""The training doctor's fixes: changes the user applies in one click (one undo step in the
app), and how the doctor picks them. Torch-free, like the doctor."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from engine.project import Project
from engine.train.doctor_net import NORMS, Net


@dataclass(frozen=True)
class Fix:
    """A change the user applies in one click (one undo step in the app)."""

    label: str  # the button's text: "Lower the learning rate to 0.003"
    kind: Literal["set", "set_param", "insert_after", "replace"]
    #: "set": a setting key ("training.lr"); "set_param": "GRAPH/NODE.PARAM" (the sweep keys'
    #: form, engine.sweep.space.resolve_key); "insert_after" and "replace": "GRAPH/NODE"
    key: str
    #: the new value; "insert_after": the block type to insert ("BatchNorm1d", ...), wired
    #: between the block and all its successors; "replace": ``{"type": T, "params": {...}}``,
    #: the block becomes a T with those params, keeping its id, place and wires (used by
    #: private training's checks, engine.train.privacy_check)
    value: Any = None


def norm_fix(project: Project, net: Net, key: str) -> Fix | None:
    """Add normalisation after the block (after its source for an activation, so the
    activation sees normalised inputs), chosen by the rank of that block's output: features
    BatchNorm1d, images BatchNorm2d, sequences LayerNorm. None where a normalisation is
    already there or the shape is unknown."""
    target = key
    sources = net.sources.get(key, [])
    if net.family(key) == "activation" and len(sources) == 1 and net.has_params(sources[0]):
        target = sources[0]
    if not net.has_params(target) or net.types.get(target) in NORMS:
        return None
    if any(net.types.get(c) in NORMS for c in net.consumers.get(target, [])):
        return None
    rank = net.rank.get(target)
    single = project.training.batch_size < 2  # batch norm cannot train on one sample
    if rank == 1:
        norm = "LayerNorm" if single else "BatchNorm1d"
    elif rank == 3:
        if single:
            return None
        norm = "BatchNorm2d"
    elif rank == 2:
        norm = "BatchNorm1d" if net.types.get(target) == "Conv1d" and not single else "LayerNorm"
    else:
        return None
    return Fix(f"Add {norm} after {net.node_id(target)}", "insert_after", target, norm)


def set_lr(project: Project, lr: float) -> Fix | None:
    """Set ``training.lr`` (None when it is already that)."""
    lr = min(lr, 100.0)
    if lr <= 0 or lr == project.training.lr:
        return None
    verb = "Lower" if lr < project.training.lr else "Raise"
    return Fix(f"{verb} the learning rate to {lr:g}", "set", "training.lr", lr)


def lower_lr(project: Project, factor: float) -> Fix | None:
    """The learning rate ``factor`` times lower, rounded."""
    return set_lr(project, nice(project.training.lr / factor))


def regularise(project: Project) -> Fix | None:
    """More dropout where the model has a Dropout block below 0.5, else more weight decay."""
    for gname, graph in project.graphs.items():
        for node in graph.nodes:
            p = node.params.get("p", 0.5)
            if node.type == "Dropout" and isinstance(p, int | float) and p < 0.5:
                new = round(min(p + 0.2, 0.5), 2)
                return Fix(f"Raise the dropout of {node.id} to {new:g}", "set_param",
                           f"{gname}/{node.id}.p", new)
    wd = project.training.weight_decay
    new = (1e-2 if project.training.optimizer == "adamw" else 1e-4) if wd == 0 else min(wd * 10, 10.0)
    if new == wd:
        return None
    return Fix(f"Raise the weight decay to {new:g}", "set", "training.weight_decay", new)


def nice(x: float) -> float:
    """``x`` rounded to 1, 2, 3 or 5 times a power of ten (the nearest on a log scale)."""
    if not x > 0 or not math.isfinite(x):
        return x
    exp = math.floor(math.log10(x))
    best = min((m * 10.0 ** e for e in (exp - 1, exp, exp + 1) for m in (1, 2, 3, 5)),
               key=lambda c: abs(math.log10(c / x)))
    return float(f"{best:.1g}")
