"""Where a NaN came from: the first block whose output or gradient went non-finite.

When the NaN guard stops a run (see engine.train.loop), :func:`nonfinite_origin` re-runs the
failing batch with hooks on every block (the weights are still the last good ones: the guard
fires before the update). Torch is imported inside the function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from engine.train.stats import block_modules, first_tensor

if TYPE_CHECKING:
    import torch
    from torch import nn


class _Found(Exception):  # noqa: N818 - a signal that ends the re-run, not an error
    def __init__(self, key: str | None, where: str) -> None:
        super().__init__(key)
        self.key, self.where = key, where


class NonFiniteLoss(Exception):
    """A step's loss (or gradient norm) is NaN or infinite: the loop stops the run."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def nonfinite_origin(task: Any, models: Mapping[str, nn.Module], x: torch.Tensor,
                     y: torch.Tensor | None) -> tuple[str, str] | None:
    """Re-run ``task``'s training step on the batch ``x, y`` with the current weights and
    return ("GRAPH/NODE", "output" or "gradient"): the first block whose output went
    non-finite in the forward pass, else (the loss being finite) the first whose output's
    gradient did in the backward pass. None when the batch does not reproduce it (dropout
    drew other units) or the loss itself went bad from finite outputs.

    Nothing changes: no update is applied, the random state is forked, batch-norm buffers
    and the task's state are restored and gradients cleared. The task runs on ``models``
    themselves, not on their data-parallel wrappers (whose collectives the other ranks
    would not join)."""
    import torch

    graphs = {name: set(gs) for name, gs in task.optimizers().items()}
    current: set[str] = set()  # graphs trained by the loss whose backward runs

    def forward_hook(key: str) -> Callable[..., None]:
        graph = key.split("/", 1)[0]

        def grad_hook(grad: torch.Tensor) -> None:
            if graph in current and not bool(torch.isfinite(grad).all()):
                raise _Found(key, "gradient")

        def hook(module: nn.Module, args: Any, output: Any) -> None:
            t = first_tensor(output)
            if t is None or not t.is_floating_point():
                return
            if not bool(torch.isfinite(t.detach()).all()):
                raise _Found(key, "output")
            if t.requires_grad:
                t.register_hook(grad_hook)
        return hook

    def step(name: str, loss: torch.Tensor) -> None:
        if not bool(torch.isfinite(loss.detach()).all()):
            raise _Found(None, "loss")
        current.update(graphs.get(name, set()))
        try:
            loss.backward()
        finally:
            current.clear()

    buffers = [(b, b.detach().clone()) for m in models.values() for b in m.buffers()]
    task_state, task_models = task.state_dict(), task.models
    handles = [m.register_forward_hook(forward_hook(key)) for key, m in block_modules(models)]
    devices = [x.device.index or 0] if x.device.type == "cuda" else []
    try:
        task.models = dict(models)
        with torch.random.fork_rng(devices=devices):
            task.train_step(x, y, step)
        return None
    except _Found as found:
        return None if found.key is None else (found.key, found.where)
    except Exception:  # the bad values broke the step another way: nothing to name
        return None
    finally:
        for h in handles:
            h.remove()
        task.models = task_models
        task.load_state_dict(task_state)
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)
            for m in models.values():
                for p in m.parameters():
                    p.grad = None


def origin_sentence(project: Any, origin: tuple[str, str] | None) -> str:
    """The clause the NaN guard's messages add for ``origin`` (block key, "output" or
    "gradient"): "; it first appeared in the output of block 'fc2' (model/fc2)", the block
    named as the canvas shows it (its label, else its node id); "" when none was found."""
    if origin is None:
        return ""
    block, part = origin
    graph_name, _, node_id = block.partition("/")
    graph = project.graphs.get(graph_name)
    node = graph.node(node_id) if graph is not None else None
    shown = (node.label if node is not None else "") or node_id
    return f"; it first appeared in the {part} of block '{shown}' ({block})"
