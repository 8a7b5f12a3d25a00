"""Optimizers; the learning-rate schedule (:class:`LRSchedule`) lives in the torch-free
:mod:`engine.train.schedule` and is re-exported here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from engine.project import TrainingConfig
from engine.train.schedule import LRSchedule

__all__ = ["EpochLR", "LRSchedule", "apply_lr", "build_optimizer", "match_layout"]


def build_optimizer(cfg: TrainingConfig, params: Iterable[nn.Parameter] | list[dict[str, Any]],
                    device: torch.device) -> torch.optim.Optimizer:
    """The optimizer ``cfg.optimizer`` names, over ``params``: parameters (those that
    require a gradient), or param groups as :meth:`engine.train.freeze.FineTune.groups`
    makes them, each with its ``lr_mult`` (its learning rate is ``cfg.lr * lr_mult``).
    Adam/AdamW/SGD use their fused kernels, on CUDA and on the CPU: one kernel updates
    every tensor instead of a dozen small operations per tensor (on the CPU, Adam's steps
    on the spirals MLP took 2.5x less time with it, LeNet-5's 1.15x), and on CUDA the grad
    scaler skips a non-finite step without a host sync."""
    items = list(params)
    if items and isinstance(items[0], dict):
        params = [{**g, "lr": cfg.lr * g.get("lr_mult", 1.0)} for g in items]
    else:
        params = [p for p in items if p.requires_grad]
    fused: dict[str, Any] = {"fused": True} if device.type in ("cuda", "cpu") else {}
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                               nesterov=cfg.nesterov and cfg.momentum > 0,
                               weight_decay=cfg.weight_decay, **fused)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                                weight_decay=cfg.weight_decay, **fused)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                                 weight_decay=cfg.weight_decay, **fused)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum,
                                   weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}")


def match_layout(opt: torch.optim.Optimizer) -> None:
    """Give each state tensor of ``opt`` its parameter's memory layout, after
    ``load_state_dict``: a checkpoint holds contiguous tensors, a convolution's weight
    trains in channels_last, and the fused kernels read a parameter and its state as one
    flat array each. With the layouts apart, fused Adam on the CPU updated every weight
    from the wrong moments (measured: a resumed run drifted off the uninterrupted one)."""
    for param, state in opt.state.items():
        for key, value in state.items():
            if (torch.is_tensor(value) and value.shape == param.shape
                    and value.stride() != param.stride()):
                state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def apply_lr(schedule: LRSchedule, optimizers: Iterable[torch.optim.Optimizer], step: int) -> float:
    """Set every param group's learning rate for ``step``: the schedule's, times the
    group's ``lr_mult`` (fine-tuning); return the schedule's."""
    lr = schedule.lr_at(step)
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = lr * group.get("lr_mult", 1.0)
    return lr


class EpochLR:
    """What :func:`apply_lr` does at each step of one epoch, for less per step: the
    schedule's rates of steps ``first`` .. ``first + count - 1`` are computed when the
    epoch starts (the plateau factor changes only at an epoch's end, and param groups only
    at its start, when blocks unfreeze), and a group's rate is set only when the
    schedule's changes. The rates set are the very floats :func:`apply_lr` would set."""

    def __init__(self, schedule: LRSchedule, optimizers: Iterable[torch.optim.Optimizer],
                 first: int, count: int) -> None:
        self.first = first
        self.rates = [schedule.lr_at(s) for s in range(first, first + count)]
        self.groups = [(g, g.get("lr_mult", 1.0)) for opt in optimizers for g in opt.param_groups]
        self.current: float | None = None

    def apply(self, step: int) -> float:
        """Set every group's rate for global step ``step``; return the schedule's."""
        lr = self.rates[step - self.first]
        if lr != self.current:
            for group, mult in self.groups:
                group["lr"] = lr * mult
            self.current = lr
        return lr
