"""How much memory training a project needs, and how much the device it targets has.

The estimate is analytic, from the shape analysis (no torch, microseconds): weights, their
gradients and the optimizer's state (all float32, per the configured optimizer), plus the
activations of one batch, which training keeps for the backward pass. It is a lower bound of
what torch will really use (workspaces, the data, the allocator's slack come on top), so a
project over it cannot train. ``validate``, ``summary`` and the app's Problems list show it as
a warning (:func:`memory_problems`); the training setup refuses such a run before it
allocates anything (:func:`check_training_memory`, called from ``engine.train.setup``).

The device's memory: RAM from ``os.sysconf`` (or ``/proc/meminfo``), lowered to the cgroup's
limit in a container; a GPU's total memory only where torch is already loaded, so the editor
never imports torch (or starts CUDA) for this.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.graph import Problem

if TYPE_CHECKING:
    from engine.project import Project, TrainingConfig
    from engine.shapes import GraphAnalysis

BYTES_PER_VALUE = 4  # weights, gradients and optimizer state are float32
_OPTIMIZER_NAMES = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop"}


def format_bytes(n: float) -> str:
    """``n`` bytes in decimal units, as a person reads them: "4.0 TB", "196 MB", "512 bytes"."""
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            v = n / size
            return f"{v:.1f} {unit}" if v < 100 else f"{v:,.0f} {unit}"
    return f"{int(n)} bytes"


def optimizer_slots(cfg: TrainingConfig) -> int:
    """Tensors of optimizer state per weight: Adam and AdamW keep two moments; SGD keeps a
    momentum buffer when momentum is on; RMSprop a square average, plus a momentum buffer."""
    momentum = 1 if cfg.momentum > 0 else 0
    return {"adam": 2, "adamw": 2, "sgd": momentum, "rmsprop": 1 + momentum}.get(cfg.optimizer, 2)


@dataclass(frozen=True, slots=True)
class BlockMemory:
    """One block's share: bytes of weights, and of activations for one batch."""

    graph: str
    node: str
    weights: int
    activations: int
    slots: int  # optimizer state tensors per weight

    @property
    def total(self) -> int:
        return self.weights * (2 + self.slots) + self.activations  # + gradients + state

    def describe(self, with_graph: bool) -> str:
        name = f"{self.graph}/{self.node}" if with_graph else self.node
        if self.weights * (2 + self.slots) >= self.activations:
            return f"{name} ({format_bytes(self.weights)} of weights)"
        return f"{name} ({format_bytes(self.activations)} of activations)"


@dataclass(frozen=True)
class MemoryEstimate:
    """What training needs, in bytes. ``blocks`` is sorted biggest first."""

    weights: int
    gradients: int
    optimizer: int
    activations: int
    batch_size: int
    optimizer_name: str
    blocks: tuple[BlockMemory, ...]

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations

    def breakdown(self) -> str:
        parts = [f"weights {format_bytes(self.weights)}", f"gradients {format_bytes(self.gradients)}"]
        if self.optimizer:
            parts.append(f"{self.optimizer_name} state {format_bytes(self.optimizer)}")
        parts.append(f"activations {format_bytes(self.activations)} for a batch of {self.batch_size}")
        return ", ".join(parts)

    def biggest(self, n: int = 3) -> str:
        """"the biggest blocks: A (...), B (...)": the ``n`` biggest, leaving out those under
        1% of the total."""
        graphs = {b.graph for b in self.blocks}
        top = [b for i, b in enumerate(self.blocks[:n]) if i == 0 or b.total * 100 >= self.total]
        named = ", ".join(b.describe(len(graphs) > 1) for b in top)
        return f"the biggest block{'s' if len(top) > 1 else ''}: {named}"


def trained_graphs(project: Project) -> tuple[str, ...]:
    """The graphs a run of ``project`` trains (a GAN trains two)."""
    names = ("generator", "discriminator") if project.task.kind == "gan" else ("model",)
    return tuple(n for n in names if n in project.graphs)


def estimate_training_memory(
    project: Project, analyses: dict[str, GraphAnalysis] | None = None, *,
    activation_bytes: int = BYTES_PER_VALUE,
) -> MemoryEstimate:
    """The memory training ``project`` needs at its batch size (see the module docstring).
    ``activation_bytes``: bytes per activation value (2 under bf16/fp16 autocast)."""
    from engine.shapes import analyze_graph

    cfg = project.training
    slots = optimizer_slots(cfg)
    blocks: list[BlockMemory] = []
    for name in trained_graphs(project):
        a = analyses.get(name) if analyses else None
        if a is None:
            a = analyze_graph(project.graphs[name], name, project.graphs)
        for nid, info in a.nodes.items():
            if info.params or info.activations:
                blocks.append(BlockMemory(name, nid, info.params * BYTES_PER_VALUE,
                                          info.activations * cfg.batch_size * activation_bytes,
                                          slots))
    blocks.sort(key=lambda b: b.total, reverse=True)
    weights = sum(b.weights for b in blocks)
    return MemoryEstimate(
        weights=weights, gradients=weights, optimizer=weights * slots,
        activations=sum(b.activations for b in blocks), batch_size=cfg.batch_size,
        optimizer_name=_OPTIMIZER_NAMES.get(cfg.optimizer, cfg.optimizer), blocks=tuple(blocks),
    )


# --- the device's memory ------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def physical_memory() -> int | None:
    """Bytes of RAM this process may use: the machine's, or its container's limit when lower.
    None where it cannot be read."""
    total: int | None = None
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        total = _meminfo_total()
    limit = _cgroup_limit()
    if limit is not None and (total is None or limit < total):
        total = limit
    return total if total and total > 0 else None


def _meminfo_total() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:  # v1 writes a huge number for "no limit"
            return int(text)
    return None


@functools.lru_cache(maxsize=8)
def _loaded_gpu_memory(index: int) -> int | None:
    """Total memory of CUDA device ``index``, only where torch is already imported: the editor
    must not import torch just to warn."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            return None
        return int(torch.cuda.get_device_properties(index).total_memory)
    except Exception:  # a broken driver: no figure, no warning (training reports the device)
        return None


@dataclass(frozen=True, slots=True)
class Budget:
    """A memory limit: ``limit`` bytes, described as ``what``; ``weights_only`` when only the
    weights must fit there, for the reason ``note`` (a GPU model is built in RAM first)."""

    limit: int
    what: str
    weights_only: bool = False
    note: str = ""


def ram_budgets(weights_only: bool = False, note: str = "") -> list[Budget]:
    """This machine's RAM as a budget (none where it cannot be read)."""
    ram = physical_memory()
    return [] if ram is None else [
        Budget(ram, f"this machine's {format_bytes(ram)} of RAM", weights_only, note)]


def gpu_budgets(index: int, total: int | None) -> list[Budget]:
    """The budgets of training on CUDA device ``index`` with ``total`` bytes (None: unknown):
    its memory, and the RAM the model is built in before it moves there."""
    budgets = ram_budgets(True, "the model is built there before it moves to the GPU")
    if total is not None:
        budgets.append(Budget(total, f"the {format_bytes(total)} of GPU cuda:{index}"))
    return budgets


def device_budgets(device: str) -> list[Budget]:
    """The memory limits of the device a project names (``training.device``), as far as they
    are known without importing torch. A remote device is checked on its host instead."""
    if device.startswith("remote:"):
        return []
    if device == "auto":
        gpu = _loaded_gpu_memory(0)
        return gpu_budgets(0, gpu) if gpu is not None else ram_budgets()
    if device.startswith("cuda"):
        index = int(device[5:]) if device[5:].isdigit() else 0
        return gpu_budgets(index, _loaded_gpu_memory(index))
    return ram_budgets()  # cpu; mps shares the machine's memory


def over_budget(est: MemoryEstimate, budgets: list[Budget]) -> str | None:
    """A sentence when ``est`` does not fit one of ``budgets`` (None when it fits), naming the
    biggest blocks and what to change."""
    for b in budgets:
        if b.weights_only and est.weights > b.limit:
            note = f" ({b.note})" if b.note else ""
            return (f"the weights alone take about {format_bytes(est.weights)}, more than "
                    f"{b.what}{note}; {est.biggest()}. Make the biggest blocks smaller")
        if not b.weights_only and est.total > b.limit:
            return (f"the network needs about {format_bytes(est.total)} to train "
                    f"({est.breakdown()}), more than {b.what}; {est.biggest()}. Make the "
                    f"biggest blocks smaller or lower the batch size")
    return None


def memory_problems(project: Project, analyses: dict[str, GraphAnalysis] | None = None) -> list[Problem]:
    """A warning when training ``project`` needs more memory than its device has."""
    budgets = device_budgets(project.training.device)
    if not budgets:
        return []
    est = estimate_training_memory(project, analyses)
    sentence = over_budget(est, budgets) if est.blocks else None
    if sentence is None:
        return []
    top = est.blocks[0]
    return [Problem(top.graph, top.node, f"training will fail: {sentence}.", "warning")]
