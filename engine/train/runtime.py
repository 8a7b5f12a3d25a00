"""Where and how a run executes: device, threads, seeds, autocast and the grad scaler."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable

import numpy as np
import torch

from engine.errors import UserError


class RuntimeProblem(UserError):
    """The requested device cannot be used; the message is for the user."""


def resolve_device(name: str) -> torch.device:
    """auto -> cuda when available, else cpu. A missing CUDA device is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeProblem(f"device {name!r} was asked for but this machine has no "
                                 "usable CUDA GPU; use device auto or cpu")
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise RuntimeProblem(f"device {name!r} does not exist: this machine has "
                                 f"{torch.cuda.device_count()} GPU(s)")
        return dev
    if name == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise RuntimeProblem("device 'mps' is not available here; use auto or cpu")
        return torch.device("mps")
    return torch.device("cpu")


def resolve_threads(threads: int) -> int:
    """0 means all cores but one (at least one), leaving a core for the app."""
    if threads > 0:
        return threads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) - 1)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def autocast_factory(device: torch.device, amp: bool) -> tuple[Callable[[], contextlib.AbstractContextManager], str]:
    """An autocast context factory and its name: bf16 (or fp16) on CUDA with amp, else off."""
    if device.type != "cuda" or not amp:
        return contextlib.nullcontext, "off"
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return (lambda: torch.autocast("cuda", dtype=dtype)), str(dtype).removeprefix("torch.")


def make_scaler(device: torch.device) -> torch.amp.GradScaler | None:
    """On CUDA a grad scaler always runs: it scales fp16 losses and, for any precision,
    skips a step whose gradients are not finite on the device, without a host sync."""
    if device.type != "cuda":
        return None
    return torch.amp.GradScaler("cuda")
