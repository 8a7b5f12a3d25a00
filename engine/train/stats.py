"""Block statistics measured while a run trains (issue 17).

Every ``training.stats_every`` steps (and at step 1) the loop measures, for every block of
every graph the task trains (the modules named by node id; a Group node is one block), what
its output looked like, the gradient that came back to it and what the update did to its
weights (see :class:`~engine.train.events.BlockStats` for the keys). Hooks exist only during
a measured step: an unmeasured step runs exactly the code it runs with statistics off.
Measuring draws no random numbers and changes no state, so a run's weights are the same with
statistics on or off.

A measured step costs little more than a step: each figure is one or two vectorised device
operations (``torch.std_mean`` alone would cost more than a convolution on a CPU), the norms
of many parameters are taken in one ``torch._foreach_norm``, and everything reaches the host
in one transfer at the step's end, where the figures are combined in Python.

Torch is imported inside the functions, so :func:`read_block_stats` is torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.train.events import BlockStats, read_events

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["BlockMeter", "block_modules", "first_tensor", "read_block_stats"]


def read_block_stats(run_dir: str | Path) -> list[BlockStats]:
    """The BlockStats events of a run folder's events.jsonl, in order (empty when the run
    measured none or the folder has no events)."""
    return [e for e in read_events(Path(run_dir) / "events.jsonl") if isinstance(e, BlockStats)]


def block_modules(models: Mapping[str, nn.Module]) -> list[tuple[str, nn.Module]]:
    """("GRAPH/NODE", module) for every block that has a module, in compile order: the
    direct children of each graph's module are its nodes' modules, named by node id.
    Functional blocks (Add, Concat, Flatten, Reshape, GlobalAvgPool...) have none."""
    return [(f"{graph}/{name}", module) for graph, model in models.items()
            for name, module in model.named_children()]


def first_tensor(output: Any) -> torch.Tensor | None:
    """A block's output, or the first tensor of a tuple (an LSTM's sequence)."""
    import torch

    while isinstance(output, tuple | list) and output:
        output = output[0]
    return output if isinstance(output, torch.Tensor) else None


def _kind(module: nn.Module) -> str:
    """"relu" for blocks whose dead units are exact zeros, "sigmoid"/"tanh" for saturating
    ones, "" otherwise."""
    from torch import nn

    if isinstance(module, nn.ReLU | nn.ReLU6):
        return "relu"
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    return "tanh" if isinstance(module, nn.Tanh) else ""


def _dead(o: torch.Tensor, kind: str) -> tuple[torch.Tensor, int]:
    """(count, out of) for the dead share: ReLU units (channels, dim 1, or the features of
    a 2-D output) zero for the whole batch; saturated sigmoid or tanh outputs."""
    import torch

    if kind == "relu":
        unit = o.dim() - 1 if o.dim() <= 2 else 1
        dims = tuple(d for d in range(o.dim()) if d != unit)
        # ReLU outputs are >= 0: a unit is alive where its largest value is above zero
        peak = o.amax(dim=dims) if dims else o
        return (peak == 0).sum(dtype=torch.float32), peak.numel()
    if kind == "sigmoid":
        return ((o < 0.01) | (o > 0.99)).sum(dtype=torch.float32), o.numel()
    return (o.abs() > 0.99).sum(dtype=torch.float32), o.numel()


class _Fetch:
    """Device figures brought to the host in one transfer: 0-d float32 tensors
    (:meth:`scalar` returns an index) and 1-d ones (:meth:`vector`)."""

    def __init__(self) -> None:
        self.scalars: list[torch.Tensor] = []
        self.vectors: list[torch.Tensor] = []
        self.lengths: list[int] = []

    def scalar(self, t: torch.Tensor) -> int:
        self.scalars.append(t)
        return len(self.scalars) - 1

    def vector(self, ts: list[torch.Tensor]) -> int:
        """The stacked norms ``ts`` (from ``torch._foreach_norm``) as one vector."""
        import torch

        self.vectors.append(torch.stack(ts).float())
        self.lengths.append(len(ts))
        return len(self.vectors) - 1

    def fetch(self) -> tuple[list[float], list[list[float]]]:
        import torch

        parts = ([torch.stack(self.scalars)] if self.scalars else []) + self.vectors
        flat = torch.cat(parts).tolist() if parts else []
        n = len(self.scalars)
        vectors = []
        for length in self.lengths:
            vectors.append(flat[n:n + length])
            n += length
        return flat[:len(self.scalars)], vectors


def _l2(values: list[float]) -> float:
    return math.sqrt(sum(v * v for v in values))


class _Block:
    """One block's hooks and where its figures are in the step's :class:`_Fetch`."""

    def __init__(self, key: str, module: nn.Module) -> None:
        self.key, self.module = key, module
        self.graph = key.split("/", 1)[0]
        self.kind = _kind(module)
        self.params = list(module.parameters())
        self.handle: Any = None
        self.reset()

    def reset(self) -> None:
        self.seen = False
        self.trainable = [p for p in self.params if p.requires_grad]
        self.act: tuple[int, int, int] | None = None  # sum, norm (scalars), elements
        self.dead: tuple[int, int] | None = None  # count (scalar), out of
        self.grads: list[int] = []  # norms of the output's gradients (scalars)
        self.grad_params: tuple[int, slice] | None = None  # a vector's slice
        self.before: list[torch.Tensor] = []
        self.update: tuple[int, int, slice] | None = None  # change and weight norms
        self.norm: tuple[int, slice] | None = None
        self.scale = 1.0  # the grad scaler's factor when its optimizer's backward ran

    def figures(self, s: list[float], v: list[list[float]]) -> dict[str, Any]:
        """The BlockStats entry, from the fetched scalars ``s`` and vectors ``v``."""
        mean = std = dead = grad_out = grad_params = ratio = norm = None
        if self.act is not None:
            i, j, n = self.act
            mean = s[i] / n
            std = math.sqrt(max(s[j] * s[j] / n - mean * mean, 0.0))
        if self.dead is not None:
            dead = s[self.dead[0]] / max(self.dead[1], 1)
        if self.grads:
            grad_out = _l2([s[i] for i in self.grads]) / self.scale
        if self.grad_params is not None:
            grad_params = _l2(v[self.grad_params[0]][self.grad_params[1]]) / self.scale
        if self.update is not None:
            d, w, part = self.update
            ratio = _l2(v[d][part]) / max(_l2(v[w][part]), 1e-12)
        if self.norm is not None:
            norm = _l2(v[self.norm[0]][self.norm[1]])
        return {"act_mean": mean, "act_std": std, "dead": dead, "grad_out": grad_out,
                "grad_params": grad_params, "update_ratio": ratio, "param_norm": norm}


class BlockMeter:
    """Measures every block of ``models`` on the steps :meth:`due` picks.

    The loop calls :meth:`start` before a measured step's ``train_step``; its step function
    calls :meth:`backward`, :meth:`gradients`, :meth:`before_update` and :meth:`updated`
    around each optimizer's update (``graphs`` maps an optimizer's name to the graphs it
    updates); :meth:`finish` removes the hooks and returns the BlockStats event.
    """

    def __init__(self, models: Mapping[str, nn.Module], graphs: Mapping[str, list[str]],
                 every: int) -> None:
        self.every = every
        self.graphs = {name: set(gs) for name, gs in graphs.items()}
        self.blocks = [_Block(key, m) for key, m in block_modules(models)]
        self.order: list[_Block] = []  # blocks in the order the forward pass ran them
        self.current: set[str] = set()  # graphs whose gradients the running backward counts
        self.scale: Callable[[], float] | None = None
        self.out = _Fetch()

    def due(self, step: int) -> bool:
        """Whether global step ``step`` (1-based) is measured: the first, and every
        ``every``-th."""
        return self.every > 0 and (step == 1 or step % self.every == 0)

    def start(self, scale: Callable[[], float] | None = None) -> None:
        """Attach the forward hooks. ``scale`` gives a grad scaler's factor (a host sync,
        on measured steps only): gradients are reported as the loss's own, unscaled."""
        self.scale, self.order, self.current, self.out = scale, [], set(), _Fetch()
        for b in self.blocks:
            b.reset()
            b.handle = b.module.register_forward_hook(self._forward_hook(b))

    def detach(self) -> None:
        """Remove the hooks (also when the step failed)."""
        for b in self.blocks:
            if b.handle is not None:
                b.handle.remove()
                b.handle = None
        self.current = set()

    # --- hooks --------------------------------------------------------------------------
    def _forward_hook(self, b: _Block) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            t = first_tensor(output)
            if t is None:
                return
            if not b.seen:  # a block called twice (a GAN's discriminator): the first call
                b.seen = True
                self.order.append(b)
                if t.is_floating_point() and t.numel():
                    # a detached tensor records no graph, so no no_grad() is needed
                    o = t.detach()
                    b.act = (self.out.scalar(_in_f32("sum", o)),
                             self.out.scalar(_in_f32("norm", o)), o.numel())
                    if b.kind:
                        count, total = _dead(o, b.kind)
                        b.dead = (self.out.scalar(count), total)
            if t.requires_grad:
                t.register_hook(self._grad_hook(b))
        return hook

    def _grad_hook(self, b: _Block) -> Callable[[torch.Tensor], None]:
        def hook(grad: torch.Tensor) -> None:
            # only the backward of the block's own optimizer: a GAN's generator loss also
            # flows through the discriminator, which it does not train
            if b.graph in self.current:
                b.grads.append(self.out.scalar(_in_f32("norm", grad.detach())))
        return hook

    # --- around each optimizer's update ---------------------------------------------------
    def backward(self, opt: str) -> None:
        """The backward of optimizer ``opt``'s loss begins."""
        self.current = self.graphs.get(opt, set())

    def gradients(self, opt: str) -> None:
        """After that backward: the norms of each block's parameter gradients."""
        self.current = set()
        # read now: the scaler's update after this optimizer's step may change it
        scale = self.scale() if self.scale is not None else 1.0
        grads: list[torch.Tensor] = []
        parts: list[tuple[_Block, slice]] = []
        for b in self._of(opt):
            b.scale = scale
            mine = [p.grad for p in b.trainable if p.grad is not None]
            if mine:
                parts.append((b, slice(len(grads), len(grads) + len(mine))))
                grads += mine
        if grads:
            vec = self.out.vector(_norms(grads))
            for b, part in parts:
                b.grad_params = (vec, part)

    def before_update(self, opt: str) -> None:
        import torch

        with torch.no_grad():
            for b in self._of(opt):
                b.before = [p.detach().clone() for p in b.trainable]

    def updated(self, opt: str) -> None:
        """After the update: the norms of each block's weight change and old weights."""
        import torch

        after: list[torch.Tensor] = []
        before: list[torch.Tensor] = []
        parts: list[tuple[_Block, slice]] = []
        for b in self._of(opt):
            if b.before:
                parts.append((b, slice(len(after), len(after) + len(b.before))))
                after += b.trainable
                before += b.before
                b.before = []
        if not after:
            return
        with torch.no_grad():
            change = self.out.vector(_norms(torch._foreach_sub(after, before)))
            old = self.out.vector(_norms(before))
        for b, part in parts:
            b.update = (change, old, part)

    def _of(self, opt: str) -> list[_Block]:
        graphs = self.graphs.get(opt, set())
        return [b for b in self.blocks if b.graph in graphs]

    # --- the event ------------------------------------------------------------------------
    def finish(self, epoch: int, step: int) -> BlockStats:
        """Remove the hooks and gather the step's figures (one transfer to the host)."""
        import torch

        self.detach()
        params: list[torch.Tensor] = []
        for b in self.blocks:
            if b.params:
                b.norm = (len(self.out.vectors), slice(len(params), len(params) + len(b.params)))
                params += b.params
        if params:
            with torch.no_grad():
                self.out.vector(_norms(params))
        s, v = self.out.fetch()
        blocks = self.order + [b for b in self.blocks if not b.seen]
        stats = {b.key: b.figures(s, v) for b in blocks}
        for b in self.blocks:
            b.reset()
        self.out = _Fetch()
        return BlockStats(epoch=epoch, step=step, blocks=stats)


def _in_f32(op: str, t: torch.Tensor) -> torch.Tensor:
    """``t``'s sum or L2 norm (``op``) as a float32 0-d tensor, accumulated in float32. The
    dtype argument is passed only where it changes something (half precision): parsing it
    costs microseconds a call, which show on a measured step of a small model."""
    import torch

    fn = torch.sum if op == "sum" else torch.linalg.vector_norm
    return fn(t) if t.dtype == torch.float32 else fn(t, dtype=torch.float32)


def _norms(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """The L2 norm of each tensor, in one multi-tensor operation."""
    import torch

    with torch.no_grad():
        return list(torch._foreach_norm(tensors))
