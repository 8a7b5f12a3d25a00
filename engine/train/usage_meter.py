"""Keeping ``RUN/usage.json`` up to date while a run trains (see engine.train.usage).

:func:`follow` wraps a run's event stream where the training worker (and a host's agent,
rank 0) records it: it watches the events and rewrites the record, never changing them.
The record is written when the run has started (its folder exists), at every checkpoint,
about every second while steps are reported, and before the terminal event goes out, so
whoever sees "finished" finds the final figures. Wall time runs from the job's start (data
loading included) to its end, pauses included: the machine is held meanwhile.

A resumed run reads the record its earlier segments left and adds this segment to it. A
run killed with SIGKILL loses at most the last second of its figures: the frequent
writes replace the file atomically without fsync (a killed process's writes survive in the
page cache; fsync only matters when the whole machine goes down, and the checkpoint and
end writes are fsynced).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from engine.errors import UserError
from engine.train.events import TERMINAL, CheckpointWritten, Event, RunStarted
from engine.train.usage import USAGE, Usage, add_segment, read_usage

HEARTBEAT_S = 1.0


def follow(events: Iterable[Event], run_dir: str | Path, price: dict[str, Any], *,
           resume: bool) -> Iterator[Event]:
    """Yield ``events`` unchanged, recording the run's usage in ``run_dir/usage.json``.
    ``price`` is the job's price entry (:func:`engine.train.usage.job_price`); with
    ``resume`` the record of the earlier segments is added to."""
    meter = UsageMeter(Path(run_dir), price, resume=resume)
    try:
        for ev in events:
            meter.see(ev)
            yield ev
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()  # the run lets go of its folder before the last figures are written
        meter.close()


class UsageMeter:
    """One segment of a run: its clock, where it runs, and the earlier segments' record."""

    def __init__(self, run_dir: Path, price: dict[str, Any], *, resume: bool) -> None:
        self.path = run_dir / USAGE
        self.price = price
        self.prior = read_usage(run_dir) if resume else None
        self.t0 = time.monotonic()
        self.last_write = self.t0
        self.started = self.ended = self.complained = False
        self.device, self.threads = "cpu", 1
        _reset_gpu_peak()

    def see(self, ev: Event) -> None:
        if isinstance(ev, RunStarted):
            self.started = True
            self.device = ev.device.split(":", 1)[0] or "cpu"
            self.threads = max(1, ev.threads)
            self.write(durable=True)
        elif not self.started or self.ended:
            return
        elif ev.type in TERMINAL:
            self.write(durable=True)
            self.ended = True
        elif isinstance(ev, CheckpointWritten):
            self.write(durable=True)
        elif time.monotonic() - self.last_write >= HEARTBEAT_S:
            self.write(durable=False)

    def close(self) -> None:
        """The stream ended without a terminal event (the parent went away): keep the
        figures so far."""
        if self.started and not self.ended:
            self.write(durable=True)
            self.ended = True

    def segment(self) -> Usage:
        """This segment's figures up to now."""
        wall = time.monotonic() - self.t0
        hours = wall / 3600.0
        processes, nodes = _world()
        gpus = processes if self.device == "cuda" else 0  # one GPU per process (torchrun)
        cores = self.threads * processes
        per_hour = self.price.get("per_hour")
        per_hour = None if per_hour is None else float(per_hour)
        return Usage(
            host=str(self.price.get("host") or "local"),
            host_kind=str(self.price.get("host_kind") or "local"),
            device=self.device, nodes=nodes, gpus=gpus, processes=processes, cores=cores,
            wall_s=wall, gpu_hours=hours * gpus, core_hours=hours * cores,
            peak_memory_mb=_peak_rss_mb(), peak_gpu_memory_mb=_peak_gpu_mb(), segments=1,
            price_per_hour=per_hour, currency=str(self.price.get("currency") or "USD"),
            cost=None if per_hour is None else hours * nodes * per_hour)

    def write(self, *, durable: bool) -> None:
        self.last_write = time.monotonic()
        text = json.dumps(add_segment(self.prior, self.segment()).to_dict(), indent=2) + "\n"
        try:
            if durable:
                from engine.project import atomic_write_text

                atomic_write_text(self.path, text)
            else:
                _replace_quickly(self.path, text)
        except (UserError, OSError) as e:  # the cost record never stops a training
            if not self.complained:
                self.complained = True
                print(f"layerforge: {self.path}: the usage record was not written ({e})",
                      file=sys.stderr, flush=True)


def _replace_quickly(path: Path, text: str) -> None:
    """Atomic against a killed process (temp file + rename), without fsync."""
    from engine.tempfiles import create_temp

    fd, tmp = create_temp(path.parent, path.name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _world() -> tuple[int, int]:
    """(processes, nodes) of this run: torchrun's WORLD_SIZE, and the nodes Slurm gave
    (else processes over the processes per node)."""
    processes = max(1, _env_int("WORLD_SIZE", 1))
    nodes = _env_int("SLURM_JOB_NUM_NODES", 0) or _env_int("SLURM_NNODES", 0)
    if not nodes:
        per_node = max(1, _env_int("LOCAL_WORLD_SIZE", processes))
        nodes = -(-processes // per_node)
    return processes, max(1, nodes)


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _peak_rss_mb() -> float:
    """This process's peak resident memory in MiB; 0.0 where the OS does not say (Windows).
    Linux: VmHWM, the peak of this program's own memory (getrusage's ru_maxrss keeps the
    peak of the process that forked it across exec: a worker started by a large process
    would report that one's size)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def _cuda() -> Any | None:
    """torch.cuda when this process has already started CUDA (never starts it)."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch.cuda


def _reset_gpu_peak() -> None:
    """A reused worker's earlier job must not count as this run's peak."""
    cuda = _cuda()
    if cuda is not None:
        cuda.reset_peak_memory_stats()


def _peak_gpu_mb() -> float | None:
    cuda = _cuda()
    return None if cuda is None else cuda.max_memory_allocated() / 2**20
