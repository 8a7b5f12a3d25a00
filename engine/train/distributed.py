"""Data-parallel training across processes (torchrun + DistributedDataParallel).

Every rank runs the same loop with the same seed, so all ranks draw the same shuffled
global batch; each trains on its own contiguous slice of it (the DistributedSampler idea
applied to the in-memory index batches) and DDP averages the gradients. With equal slices
this is the full-batch gradient, so N processes with batch B/N each follow the same path as
one process with batch B. Only rank 0 writes events and files (see engine.remote.agent).
"""

from __future__ import annotations

import datetime
import inspect
import os
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from engine.train.control import Control

# A pause holds the other ranks in a collective: let them wait (a week) instead of timing out.
COLLECTIVE_TIMEOUT = datetime.timedelta(days=7)


def init_from_env() -> DataParallel | None:
    """Join the process group torchrun describes (WORLD_SIZE > 1); None for a single process.
    Uses NCCL on CUDA machines, gloo otherwise, and pins each rank to its LOCAL_RANK GPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo", timeout=COLLECTIVE_TIMEOUT)
    return current()


def current() -> DataParallel | None:
    """The active data-parallel group, or None when training in one process."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return DataParallel(dist.get_rank(), dist.get_world_size())
    return None


class DataParallel:
    """This rank's view of a data-parallel run."""

    def __init__(self, rank: int, world: int) -> None:
        self.rank, self.world = rank, world

    def shard(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """This rank's slice of a global batch (the whole batch when it is smaller than the
        number of ranks, so no rank ever steps on an empty batch)."""
        if x.shape[0] < self.world:
            return x, y
        xs = torch.tensor_split(x, self.world)[self.rank]
        ys = None if y is None else torch.tensor_split(y, self.world)[self.rank]
        return xs, ys

    def wrap(self, task: Any, device: torch.device) -> None:
        """Give the task DDP-wrapped models (same parameters as the loop's own models, which
        stay unwrapped for checkpoints)."""
        ids = [device.index if device.index is not None else torch.cuda.current_device()] \
            if device.type == "cuda" else None
        # ranks start identical (same seed), so buffers need no per-forward broadcast
        params = inspect.signature(DistributedDataParallel).parameters
        quiet = ({"forward_sync_buffers": False} if "forward_sync_buffers" in params
                 else {"broadcast_buffers": False})
        task.models = {name: DistributedDataParallel(m, device_ids=ids, **quiet)
                       for name, m in task.models.items()}


class SyncedControl(Control):
    """A Control whose stop/pause decisions are rank 0's, broadcast to every rank once per
    step, so all ranks stop at the same step (a rank that stopped alone would hang the
    others in their next gradient all-reduce)."""

    def __init__(self, rank: int, device: torch.device | None = None) -> None:
        super().__init__()
        self.rank = rank
        self.device = device or torch.device("cpu")

    _CODES = ("go", "stop", "pause")

    def _shared(self, decision: str) -> str:
        """Rank 0's decision, on every rank."""
        flag = torch.tensor([self._CODES.index(decision)], device=self.device)
        dist.broadcast(flag, src=0)
        return self._CODES[int(flag.item())]

    def poll(self) -> str:
        return self._shared(super().poll() if self.rank == 0 else "go")

    def wait_resumed(self) -> str:
        return self._shared(super().wait_resumed() if self.rank == 0 else "go")

    def wait_if_paused(self) -> bool:
        if self.poll() == "pause":
            return self.wait_resumed() == "stop"
        return False
