"""The training doctor: what a practitioner would say about a run, in sentences pinned to
blocks, each with a fix the user can apply in one click where one exists.

It reads a run's block statistics (``BlockStats`` events, see engine/train/stats.py), its
epoch ends and its warnings, and the project the run trained. Torch-free: the app calls it
on the GUI thread. What each rule measures and its thresholds are in docs/training-health.md;
where gradients explode or vanish is :mod:`engine.train.doctor_flow`'s.

Findings, most important first (errors, then warnings, then notes):

- ``nonfinite``: the NaN guard stopped the run (the block where it first appeared);
- ``exploding`` / ``vanishing``: gradients blow up or die at a block;
- ``dead_units``: a ReLU-like block whose units output zero for every sample;
- ``saturated_output``: the network's sigmoid or tanh output pinned at its ends;
- ``lr_high`` / ``lr_low``: updates far above or below ~0.1% of the weights per step;
- ``overfitting``: the validation loss rises while the training loss falls.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from engine.project import Project
from engine.train.doctor_fixes import Fix, lower_lr, nice, norm_fix, regularise, set_lr
from engine.train.doctor_flow import DEAD, Flow, flows
from engine.train.doctor_net import SATURATING, Net, build_net, value
from engine.train.events import EpochEnded, Warning

if TYPE_CHECKING:
    from engine.train.events import BlockStats

#: a median update ratio above this is too high a learning rate (when the loss suffers)
LR_HIGH = 1e-2
#: ... and above this, whatever the loss does
LR_WAY_HIGH = 1e-1
#: above this with too few epochs to tell whether the loss falls: a note
LR_NOTE = 3e-2
#: a median update ratio below this is too low a learning rate
LR_LOW = 1e-5
#: the usual update ratio, ~0.1% of the weights per step
LR_USUAL = 1e-3
#: a jump across one block of three orders of magnitude is an error, not a warning
SEVERE = 1e3
#: overfitting: the validation loss this much above its best, for at least this many epochs
OVERFIT_RISE = 1.1
OVERFIT_EPOCHS = 2

__all__ = ["KINDS", "Finding", "Fix", "RunHealth", "diagnose", "diagnose_run",
           "latest_block_stats", "read_run"]

KINDS = ("nonfinite", "exploding", "vanishing", "dead_units", "saturated_output", "lr_high",
         "lr_low", "overfitting")
_SEVERITY = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    """One thing the doctor says about a run."""

    kind: str  # one of KINDS
    block: str  # "GRAPH/NODE", or "" for the whole run
    severity: Literal["error", "warning", "info"]
    message: str  # a sentence a practitioner would say, naming the block by its id
    step: int  # the global step where it was first seen (0 if not step-bound)
    fix: Fix | None = None


def diagnose(project: Project, stats: Sequence[BlockStats], epochs: Sequence[EpochEnded],
             warnings: Sequence[Warning] = ()) -> list[Finding]:
    """Every finding about a run of ``project``, most important first.

    ``stats`` are its BlockStats events in order (empty when statistics were off: the
    rules that need them say nothing), ``epochs`` its EpochEnded events, ``warnings`` its
    Warning events."""
    net = build_net(project)
    stats = [s for s in stats if isinstance(getattr(s, "blocks", None), Mapping)]
    found: list[Finding] = []
    found += _nonfinite(project, warnings)
    found += _gradient_flow(project, net, stats)
    found += _units(project, net, stats)
    found += _learning_rate(project, stats, epochs, warnings)
    found += _overfitting(project, epochs)
    seen: set[tuple[str, str]] = set()
    unique = []
    for f in found:
        if (f.kind, f.block) not in seen:
            seen.add((f.kind, f.block))
            unique.append(f)
    # stable: within a kind, gradient findings stay nearest the loss first (where the trouble
    # starts, going back), the others in forward order
    return sorted(unique, key=lambda f: (_SEVERITY[f.severity], KINDS.index(f.kind),
                                         f.step or math.inf))


@dataclass(frozen=True)
class RunHealth:
    """What the doctor reads of a run folder."""

    project: Project
    stats: list[BlockStats]
    epochs: list[EpochEnded]
    warnings: list[Warning]


def read_run(run_dir: str | Path) -> RunHealth:
    """The project snapshot and the events the doctor reads from a run folder; a ProjectError
    naming the folder when it is not a run folder. A resumed run's repeated epochs and steps
    keep their last record."""
    from engine.train.events import read_events
    from engine.train.rundir import RunDir

    run = RunDir(run_dir)
    project = run.load_project()
    events = read_events(run.events)
    stats = {e.step: e for e in events if e.type == "block_stats"}  # type: ignore[attr-defined]
    epochs = {e.epoch: e for e in events if isinstance(e, EpochEnded)}
    return RunHealth(project, sorted(stats.values(), key=lambda e: e.step),
                     sorted(epochs.values(), key=lambda e: e.epoch),
                     [e for e in events if isinstance(e, Warning)])


def diagnose_run(run_dir: str | Path) -> list[Finding]:
    """:func:`diagnose` of a run folder: its project snapshot and events.jsonl."""
    run = read_run(run_dir)
    return diagnose(run.project, run.stats, run.epochs, run.warnings)


def latest_block_stats(stats: Sequence[BlockStats]) -> dict[str, dict[str, Any]]:
    """Each block's latest recorded statistics, with the ``step`` and ``epoch`` they were
    measured at: the latest measurement's blocks in its (forward) order, then any block
    only an earlier one had."""
    out: dict[str, dict[str, Any]] = {}
    for s in reversed(stats):  # the latest first: its blocks in its order, then older ones
        for key, values in s.blocks.items():
            if key not in out and isinstance(values, Mapping):
                out[key] = {"step": s.step, "epoch": s.epoch, **values}
    return out


# -- the rules -------------------------------------------------------------------------


def _nonfinite(project: Project, warnings: Sequence[Warning]) -> list[Finding]:
    for w in warnings:
        if w.kind != "nan":
            continue
        block = getattr(w, "block", "") or ""
        found = re.search(r"\bstep (\d+)", w.message)
        return [Finding("nonfinite", block, "error", w.message, int(found.group(1)) if found else 0,
                        lower_lr(project, 10))]
    return []


def _gradient_flow(project: Project, net: Net, stats: list[BlockStats]) -> list[Finding]:
    """The flows of the latest measurement with numbers in it (a run stopped by a NaN may
    end with an empty one), each dated by its first sighting."""
    usable = [s for s in stats if any(value(v, "grad_out") or value(v, "act_std")
                                      for v in s.blocks.values())]
    if not usable:
        return []
    first: dict[tuple[str, str], int] = {}
    for s in usable:
        for f in flows(net, s.blocks):
            first.setdefault((f.kind, f.block), s.step)
    latest = usable[-1]
    return [_flow_finding(project, net, latest.blocks, f, first[(f.kind, f.block)])
            for f in flows(net, latest.blocks)]


def _flow_finding(project: Project, net: Net, blocks: Mapping[str, Any], f: Flow,
                  step: int) -> Finding:
    name = f"'{net.node_id(f.block)}'"
    if f.how == "jump":
        size = max(f.gain, 1 / f.gain)
        severity = "error" if size >= SEVERE else "warning"
        grows = f.kind == "exploding"
        parts = []
        if f.backward is not None:
            parts.append(f"they {'grow' if grows else 'shrink'} {_times(f.backward)} passing "
                         "back through it")
        if f.forward is not None:
            parts.append(f"its output is {_times(f.forward)} {'larger' if grows else 'smaller'} "
                         "than its input")
        saturated = value(blocks.get(f.block), "dead")
        why = (f"{_pct(saturated)} of its outputs are saturated"
               if net.types.get(f.block) in SATURATING and saturated and saturated >= DEAD
               else f"its weights are far too {'large' if grows else 'small'} for its input"
               if net.has_params(f.block) else "")
        message = (f"Gradients {'explode' if grows else 'vanish'} at block {name}: "
                   + " and ".join(parts))
        message += f"; {why}" if why else ""
        message += (", so every block before it gets gradients far too large."
                    if grows else ", so the blocks before it barely learn.")
    else:
        severity = "error" if max(f.gain, 1 / f.gain) >= DRIFT_SEVERE else "warning"
        ref = f"'{net.node_id(f.ref)}'"
        if f.kind == "vanishing":
            message = (f"Gradients vanish going back from the loss: at block {name} they are "
                       f"{_times(1 / f.gain)} smaller than at block {ref} near the output, so "
                       f"{name} and the blocks before it barely learn")
            stretch = _between(net, blocks, f.block, f.ref)
            if any(net.types.get(k) in SATURATING for k in stretch):
                message += ("; every sigmoid or tanh on the way shrinks them (ReLU-like "
                            "activations or normalisation keep them alive)")
            message += "."
        else:
            message = (f"Gradients explode going back from the loss: at block {name} they are "
                       f"{_times(f.gain)} larger than at block {ref} near the output, so "
                       f"{name} and the blocks before it get gradients far too large.")
    fix = norm_fix(project, net, f.block)
    if fix is None and f.kind == "exploding" and project.training.grad_clip == 0:
        fix = Fix("Clip gradients at norm 1", "set", "training.grad_clip", 1.0)
    return Finding(f.kind, f.block, severity, message, step, fix)


#: a drift of six orders of magnitude is an error
DRIFT_SEVERE = 1e6


def _between(net: Net, blocks: Mapping[str, Any], start: str, end: str) -> list[str]:
    keys = list(blocks)
    return keys[keys.index(start):keys.index(end) + 1] if start in keys and end in keys else []


def _units(project: Project, net: Net, stats: list[BlockStats]) -> list[Finding]:
    """Dead ReLU units and saturated sigmoid/tanh outputs, as the latest measurement of each
    block shows them, dated by the first measurement that showed them."""
    out = []
    latest = latest_block_stats(stats)
    for key, values in latest.items():
        share = value(values, "dead")
        if share is None or share < DEAD or key not in net.types:
            continue
        step = next(s.step for s in stats
                    if (v := value(s.blocks.get(key), "dead")) is not None and v >= DEAD)
        name = f"'{net.node_id(key)}'"
        severity = "error" if share >= 0.9 else "warning"
        sources = net.sources.get(key, [])
        if net.types[key] not in SATURATING:
            cause = (f": their inputs from '{net.node_id(sources[0])}' are negative for every "
                     "sample (a large negative bias or too high a learning rate puts them there)"
                     if sources and net.has_params(sources[0]) else "")
            message = (f"{_pct(share)} of the units of block {name} are dead: they output zero "
                       f"for every sample, so no gradient flows through them and they stop "
                       f"learning{cause}.")
            out.append(Finding("dead_units", key, severity, message, step,
                               norm_fix(project, net, key) or lower_lr(project, 3)))
        elif key in net.last:
            message = (f"{_pct(share)} of the outputs of block {name} are saturated (pinned near "
                       "the ends of its range), so its gradient is almost zero and the network "
                       "learns slowly: its inputs are too large (weights or learning rate too "
                       "high, or inputs not normalised).")
            out.append(Finding("saturated_output", key, "warning", message, step, None))
        else:
            message = (f"Gradients vanish at block {name}: {_pct(share)} of its outputs are "
                       "saturated, so almost no gradient passes back through it and the blocks "
                       "before it barely learn.")
            out.append(Finding("vanishing", key, severity, message, step,
                               norm_fix(project, net, key)))
    return out


def _learning_rate(project: Project, stats: list[BlockStats], epochs: Sequence[EpochEnded],
                   warnings: Sequence[Warning]) -> list[Finding]:
    """The median update-to-weight ratio over trainable blocks, in the last three
    measurements taken near the set rate (see :func:`_at_full_rate`; Adam's first step
    moves every weight by the learning rate itself, so step 1 counts only when nothing
    later was measured). Above 1e-2 it is a warning when the loss does not fall
    (or diverged), and nothing when it falls: Adam at a good rate on a small network often
    updates 1-3% per step (the spirals MLP at 0.01 does). Above 1e-1 it is always a
    warning."""
    lr = project.training.lr
    diverged = [w for w in warnings if w.kind == "divergence"]
    stats = _at_full_rate(project, stats, epochs)
    window = [s for s in stats if s.step > 1][-3:] or stats[-1:]
    medians = [(s.step, m) for s in window if (m := _median_ratio(project, s)) is not None]
    falling = _loss_falling(epochs)
    if not medians:
        if diverged:
            return [Finding("lr_high", "", "warning", diverged[0].message, 0,
                            lower_lr(project, 10))]
        return []
    ratio = statistics.median(m for _, m in medians)
    if ratio > LR_HIGH:
        step = next(s for s, m in medians if m > LR_HIGH)
        bad = ratio > LR_WAY_HIGH or bool(diverged) or falling is False
        if not bad and (falling or ratio <= LR_NOTE):
            return []  # high, but the loss falls: Adam often runs so, and well
        message = (f"Each update changes the weights by about {_pct(ratio)} of their size "
                   f"(median over the blocks), where about 0.1% is usual: the learning rate "
                   f"({lr:g}) is "
                   + ("too high" if bad else "high; if the loss is noisy or stalls, lower it")
                   + (" and the loss is not falling." if falling is False else "."))
        target = nice(lr * max(min(LR_USUAL / ratio, 1 / 3), 1 / 100))
        return [Finding("lr_high", "", "warning" if bad else "info", message, step,
                        set_lr(project, target))]
    if ratio < LR_LOW:
        step = next(s for s, m in medians if m < LR_LOW)
        severity = "info" if falling else "warning"
        message = (f"Each update changes the weights by only about {ratio:.1e} of their size "
                   f"(median over the blocks), where about 1e-3 is usual: the learning rate "
                   f"({lr:g}) is too low, so training crawls.")
        target = nice(lr * min(max(LR_USUAL / 10 / ratio, 3), 100))
        return [Finding("lr_low", "", severity, message, step, set_lr(project, target))]
    if diverged:
        return [Finding("lr_high", "", "warning", diverged[0].message, 0, lower_lr(project, 10))]
    return []


def _at_full_rate(project: Project, stats: list[BlockStats],
                  epochs: Sequence[EpochEnded]) -> list[BlockStats]:
    """The measurements taken while the schedule ran near the set rate: those of epochs
    that ended at 30% of ``training.lr`` or more (the epoch in progress counts). At the end
    of a cosine schedule the rate is near zero and so are the updates, rightly."""
    lr = project.training.lr
    ended = {e.epoch: e.lr for e in epochs if isinstance(e.lr, int | float)}
    if not ended or max(ended.values()) <= 0:  # no rates recorded: nothing to go by
        return stats
    return [s for s in stats if ended.get(s.epoch, lr) >= 0.3 * lr]


def _median_ratio(project: Project, s: BlockStats) -> float | None:
    ratios = []
    for key, values in s.blocks.items():
        graph, _, node_id = key.partition("/")
        node = project.graphs[graph].node(node_id) if graph in project.graphs else None
        r = value(values, "update_ratio")
        if r is not None and r > 0 and (node is None or node.trainable):
            ratios.append(r)
    return statistics.median(ratios) if ratios else None


def _loss_falling(epochs: Sequence[EpochEnded]) -> bool | None:
    """Whether the training loss fell by at least 5% from the first epoch to the last (None
    with fewer than two epochs)."""
    losses = [v for e in epochs if (v := value(e.train, "loss")) is not None]
    if len(losses) < 2:
        return None
    return losses[-1] < 0.95 * losses[0]


def _overfitting(project: Project, epochs: Sequence[EpochEnded]) -> list[Finding]:
    """The validation loss rose at least 10% above its best for two or more epochs while the
    training loss kept falling."""
    rows = [(e.epoch, t, v) for e in epochs
            if (t := value(e.train, "loss")) is not None and (v := value(e.val, "loss")) is not None]
    if len(rows) < OVERFIT_EPOCHS + 1:
        return []
    best = min(range(len(rows)), key=lambda i: rows[i][2])
    (b_epoch, b_train, b_val), (l_epoch, l_train, l_val) = rows[best], rows[-1]
    if l_epoch - b_epoch < OVERFIT_EPOCHS or l_val < OVERFIT_RISE * b_val or l_train >= b_train:
        return []
    message = (f"The model is overfitting: the validation loss rose from {b_val:.3g} at epoch "
               f"{b_epoch} to {l_val:.3g} at epoch {l_epoch} while the training loss kept "
               f"falling ({b_train:.3g} to {l_train:.3g}); it is memorising the training data.")
    return [Finding("overfitting", "", "warning", message, 0, regularise(project))]


# -- wording ----------------------------------------------------------------------------


def _times(ratio: float) -> str:
    """"about 5,800x" / "about 20x": a gain in words (below 1: its inverse)."""
    r = ratio if ratio >= 1 else 1 / ratio
    if r >= 1e6:
        return f"about {r:.0e}x".replace("e+0", "e").replace("e+", "e")
    return f"about {float(f'{r:.2g}'):,.0f}x"


def _pct(share: float) -> str:
    """0.996 -> "99.6%", 1.0 -> "100%", 0.023 -> "2.3%"."""
    return f"{share * 100:.3g}%"
