"""What differentially private training (DP-SGD, engine.train.privacy) cannot take, found
before training, each with a one-click fix where one exists. Torch-free: the project's
problems list (engine.shapes.project_problems) includes these while privacy is on, so the
app's Problems panel and ``layerforge check`` show them.

DP-SGD clips and noises each sample's own gradient, so nothing may mix samples of a batch
and every trained layer needs per-sample gradients (Opacus computes them):

- ``batch_norm``: a BatchNorm normalises each sample with its batch's statistics. Fix:
  replace it by a GroupNorm (kind ``replace``), which normalises within one sample;
- ``recurrent``: PyTorch's RNN/LSTM/GRU run as one fused kernel that Opacus cannot see
  into. Fix: the block's ``private`` option (``set_param``), which builds Opacus' DPLSTM
  (or DPGRU, DPRNN) with the same weights;
- ``attention``: PyTorch's multi-head attention, the same trouble; no one-click fix yet;
- ``settings``: a task or setting private training does not support (the sentence says
  which and what to change; a ``set`` fix where one value does it). Gradient clipping is
  only a warning: a private run ignores it.

Anything else Opacus' ``ModuleValidator`` reports is found when the run starts, on the
built model (:func:`engine.train.privacy.refuse_modules`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from engine.graph import Problem
from engine.project import Project
from engine.train.doctor_fixes import Fix

#: tasks whose loss is a mean of per-sample losses with a fixed normaliser, so each
#: sample's clipped gradient bounds its influence (detection and segmentation normalise by
#: counts over the whole batch; GAN and seq2seq train two graphs)
TASKS = ("classification", "regression", "autoencoder", "language_model")
BATCH_NORMS = ("BatchNorm1d", "BatchNorm2d")
RECURRENT = ("RNN", "LSTM", "GRU")
ATTENTION = ("MultiheadAttention", "TransformerEncoderLayer", "CrossAttention",
             "TransformerDecoderLayer")
#: Problem.fix of the problems below (the app asks :func:`fix_for` for the change)
PRIVACY_FIX = "privacy_fix"
#: the groups of a GroupNorm replacing a BatchNorm: at most this many (GroupNorm's usual)
MAX_GROUPS = 32


@dataclass(frozen=True)
class PrivacyFinding:
    """One thing private training cannot take, pinned to a block where it has one."""

    kind: Literal["batch_norm", "recurrent", "attention", "settings"]
    graph: str  # the graph, or the setting ("training.grad_clip") for ``settings``
    node: str | None
    message: str  # a sentence naming the block and what to do
    fix: Fix | None = None
    severity: Literal["error", "warning"] = "error"

    def problem(self) -> Problem:
        """The finding as the project's problems list holds it (``fix`` names the action
        when there is one: the app then asks :func:`fix_for` for the change)."""
        return Problem(self.graph, self.node, self.message, self.severity,
                       PRIVACY_FIX if self.fix is not None else "")


def check_private(project: Project, analyses: Mapping[str, Any] | None = None
                  ) -> list[PrivacyFinding]:
    """Everything in ``project`` that DP-SGD cannot take, whether or not privacy is on:
    settings first, then blocks in graph order. ``analyses``: the project's shape
    analyses when the caller has them (engine.shapes.analyze_project)."""
    found = _settings(project)
    channels = _channels(project, analyses)
    for gname, graph in project.graphs.items():
        for node in graph.nodes:
            where = f"{gname}/{node.id}"
            if node.type in BATCH_NORMS:
                groups = groups_for(channels.get(where))
                fix = Fix(f"Replace {node.id} by GroupNorm ({groups} groups)", "replace", where,
                          {"type": "GroupNorm", "params": {"num_groups": groups,
                                                           "eps": node.params.get("eps", 1e-5),
                                                           "affine": node.params.get("affine", True)}})
                found.append(PrivacyFinding(
                    "batch_norm", gname, node.id,
                    f"{node.type} normalises each sample with statistics of its whole batch, "
                    f"which private training cannot allow: replace it by a GroupNorm "
                    f"({groups} groups), which normalises each sample on its own", fix))
            elif node.type in RECURRENT and not node.params.get("private", False):
                fix = Fix(f"Use Opacus' DP{node.type} in {node.id}", "set_param",
                          f"{where}.private", True)
                found.append(PrivacyFinding(
                    "recurrent", gname, node.id,
                    f"PyTorch's {node.type} gives no per-sample gradients, which private "
                    f"training needs: turn on its DP layer option (Opacus' DP{node.type}, "
                    f"the same weights)", fix))
            elif node.type in ATTENTION:
                found.append(PrivacyFinding(
                    "attention", gname, node.id,
                    f"{node.type} uses PyTorch's multi-head attention, whose per-sample "
                    f"gradients Opacus cannot compute: private training cannot take this "
                    f"block yet; train without privacy or use a model without it"))
    return found


def privacy_problems(project: Project, analyses: Mapping[str, Any] | None = None
                     ) -> list[Problem]:
    """The findings as problems, only while ``training.privacy.enabled``."""
    if not project.training.privacy.enabled:
        return []
    return [f.problem() for f in check_private(project, analyses)]


def fix_for(project: Project, graph: str, node: str | None) -> Fix | None:
    """The fix of the finding at ``graph``/``node`` (what the app applies for a problem
    whose ``fix`` is :data:`PRIVACY_FIX`), or None."""
    for f in check_private(project):
        if f.graph == graph and f.node == node:
            return f.fix
    return None


def groups_for(channels: int | None) -> int:
    """A GroupNorm's groups for ``channels``: the largest divisor of the channels up to
    half of them and at most :data:`MAX_GROUPS` (groups of at least two channels, as
    GroupNorm's authors advise); 1 when the channels are unknown."""
    if not channels or channels < 2:
        return 1
    top = min(MAX_GROUPS, channels // 2)
    return max(d for d in range(1, top + 1) if channels % d == 0)


def apply_fix(project: Project, fix: Fix) -> None:
    """Apply one of these fixes to ``project`` in place (the CLI and tests; the app applies
    them through its undoable document instead). ``replace`` keeps the block's id, place
    and wires."""
    if fix.kind == "set":
        section, _, name = fix.key.partition(".")
        setattr(getattr(project, section), name, fix.value)
        return
    graph_name, _, rest = fix.key.rpartition("/")
    node_id = rest.split(".", 1)[0] if fix.kind == "set_param" else rest
    graph = project.graphs.get(graph_name)
    node = graph.node(node_id) if graph is not None else None
    if node is None:
        from engine.errors import UserError

        raise UserError(f"Cannot apply \"{fix.label}\": there is no block {fix.key!r} any more")
    if fix.kind == "replace":
        node.type = fix.value["type"]
        node.params = dict(fix.value.get("params", {}))
    elif fix.kind == "set_param":
        node.params[rest.split(".", 1)[1]] = fix.value
    else:
        raise ValueError(f"not a privacy fix: {fix.kind}")


def _settings(project: Project) -> list[PrivacyFinding]:
    cfg = project.training
    out: list[PrivacyFinding] = []

    def refuse(field: str, message: str, fix: Fix | None = None,
               severity: Literal["error", "warning"] = "error") -> None:
        out.append(PrivacyFinding("settings", field, None, message, fix, severity))

    kind = project.task.kind
    if kind not in TASKS:
        refuse("task.kind", f"is {kind}, which private training does not support (it supports "
               f"{', '.join(TASKS)}): turn training.privacy off")
    if cfg.grad_clip > 0:
        refuse("training.grad_clip", "is ignored in private training, which clips each "
               "sample's gradient instead (training.privacy.max_grad_norm)",
               Fix("Turn off gradient clipping", "set", "training.grad_clip", 0.0), "warning")
    if cfg.unfreeze_epoch > 0:
        refuse("training.unfreeze_epoch", "unfreezes blocks during the run, which private "
               "training does not support: set it to 0 (train the blocks from the start or "
               "keep them frozen)", Fix("Never unfreeze (unfreeze epoch 0)", "set",
                                        "training.unfreeze_epoch", 0))
    if cfg.gpus > 1:
        refuse("training.gpus", "is more than 1: private training runs on one device; set it "
               "to 1", Fix("Train on one GPU", "set", "training.gpus", 1))
    return out


def _channels(project: Project, analyses: Mapping[str, Any] | None) -> dict[str, int]:
    """The channels (first per-sample dimension of the input) of every BatchNorm, by
    ``GRAPH/NODE``, including those inside composites, where the shapes are known."""
    from engine.shapes import analyze_project

    out: dict[str, int] = {}

    def walk(gname: str, analysis) -> None:
        graph = project.graphs.get(gname)
        if graph is None:
            return
        for node in graph.nodes:
            info = analysis.nodes.get(node.id)
            if info is None:
                continue
            if node.type in BATCH_NORMS and info.out is not None and info.out.shape:
                first = info.out.shape[0]
                if isinstance(first, int):
                    out.setdefault(f"{gname}/{node.id}", first)
            if info.inner is not None and isinstance(node.params.get("graph"), str):
                walk(node.params["graph"], info.inner)

    try:
        if analyses is None:
            analyses = analyze_project(project)
    except Exception:  # a broken graph: its own problems say so; groups fall back to 1
        return out
    for gname, analysis in analyses.items():
        walk(gname, analysis)
    return out
