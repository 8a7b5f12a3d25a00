"""The checkpoint of a training in progress: what :mod:`engine.train.loop` writes at an
epoch's end or a stop, and reads back to resume exactly (docs/training.md, "Checkpoints and
exact resume"). The file format is :mod:`engine.train.checkpoint`'s."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from engine.train import checkpoint as ckpt
from engine.train.events import EpochEnded, from_json, read_events
from engine.train.optim import match_layout
from engine.train.setup import SetupError

if TYPE_CHECKING:
    from engine.train.loop import _Run


def write_checkpoint(training: _Run, kind: str) -> Path:
    """Write the checkpoint ``kind`` ("last" or "best") of ``training``: every tensor
    of its state and, as JSON, everything else."""
    tensors: dict[str, torch.Tensor] = {}
    ckpt.model_tensors(training.models, tensors)
    opt_meta = {n: ckpt.flatten_optimizer(n, o.state_dict(), tensors) | {"kind": type(o).__name__}
                for n, o in training.opts.items()}
    gen = torch.Generator()
    gen.set_state(training.epoch_gen_state)  # the epoch's start, even at its first batch
    state = {
        "version": 1, "epoch": training.epoch, "position": training.position, "step": training.step,
        "optimizers": opt_meta, "schedule": training.schedule.state_dict(),
        "scaler": training.scaler.state_dict() if training.scaler else None,
        "rng": ckpt.capture_rng(gen, tensors), "history": training.history,
        "best": [training.best_value, training.best_epoch, training.bad_epochs],
        "sums": training.figures.folded_sums(), "counts": training.figures.counts,
        "task": training.task.state_dict(), "last_val": training.last_val, "min_loss": training.min_loss,
        "initial_loss": training.initial_loss,
        # a resumed run must not repeat a warning its first part already gave
        "diverge_warned": training.diverge_warned,
        # phase 2 began: a resume rebuilds the optimizer's groups before loading them
        "unfrozen": training.tune.unfrozen,
        # the accountant's history and the noise generator (DP-SGD)
        "privacy": training.private.state_dict(tensors) if training.private else None,
        # the last epoch's end, said again on resume when events.jsonl missed it
        "epoch_ended": training.ended.to_json() if training.ended is not None else None,
    }
    path = training.run.checkpoint(kind)
    ckpt.write(path, tensors, state)
    return path

def restore(training: _Run) -> int:
    """Load ``training`` from its run's last checkpoint; the global step it resumes
    from. A missing or damaged checkpoint raises a sentence naming the file."""
    path = training.run.checkpoint("last")
    if not path.is_file():
        raise SetupError(f"{training.run.path}: nothing to resume (no checkpoints/last.safetensors)")
    tensors, state = ckpt.read(path)
    try:
        return _restore_state(training, tensors, state)
    except ckpt.CheckpointError as e:
        raise ckpt.CheckpointError(f"{path}: {e}") from None
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as e:
        raise ckpt.CheckpointError(f"{path}: the checkpoint's training state is damaged "
                                   f"({type(e).__name__}: {e})") from None

def _restore_state(training: _Run, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> int:
    ckpt.load_models(training.models, tensors)
    if state.get("unfrozen") and not training.tune.unfrozen:
        training._unfreeze()
    for n, o in training.opts.items():
        meta = state["optimizers"][n]
        if meta.get("kind") == type(o).__name__:  # a changed optimizer starts afresh
            o.load_state_dict(ckpt.unflatten_optimizer(n, meta, tensors))
            match_layout(o)
    training.schedule.load_state_dict(state["schedule"])
    if training.scaler is not None and state["scaler"]:
        training.scaler.load_state_dict(state["scaler"])
    ckpt.restore_rng(state["rng"], tensors, training.data_gen)
    training.epoch, training.position, training.step = state["epoch"], state["position"], state["step"]
    training.history = state["history"]
    training.best_value, training.best_epoch, training.bad_epochs = state["best"]
    training.figures.load(state["sums"], state["counts"])
    training.task.load_state_dict(state["task"])
    training.last_val = state["last_val"]
    training.min_loss = state["min_loss"]
    training.initial_loss = state.get("initial_loss")
    training.diverge_warned = bool(state.get("diverge_warned", False))
    if training.private is not None:
        training.private.load_state_dict(state.get("privacy"), tensors)
    if state.get("epoch_ended") and training.run.events.is_file():  # a recorded run
        said = [e.epoch for e in read_events(training.run.events) if isinstance(e, EpochEnded)]
        if not said or said[-1] < training.epoch:
            training.unsaid = [from_json(state["epoch_ended"])]
    return training.step
