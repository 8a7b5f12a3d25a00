"""Building what a run trains: compiled models on the device, and sample events."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import fx, nn

from engine import memory
from engine.compile import CompileError, compile_graph
from engine.errors import UserError
from engine.project import Project, TrainingConfig
from engine.shapes import analyze_graph
from engine.tasks import SampleOut, Task
from engine.train.events import Sample, Warning
from engine.train.fit import check_fit
from engine.train.freeze import FineTune, finetune_problems
from engine.train.optim import build_optimizer


class SetupError(UserError):
    """The run cannot start; the message is for the user."""


def check_memory(project: Project, device: torch.device, *, training: bool = True) -> None:
    """Refuse, before anything is allocated, a network that cannot fit ``device``: for
    training its weights, gradients, optimizer state and one batch of activations (see
    :mod:`engine.memory`), for inference its weights. The sentence names the biggest blocks."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        budgets = memory.gpu_budgets(index, torch.cuda.get_device_properties(index).total_memory)
    else:
        budgets = memory.ram_budgets()
    if not budgets:
        return
    half = device.type == "cuda" and project.training.amp  # activations in bf16/fp16
    est = memory.estimate_training_memory(project, activation_bytes=2 if half else 4)
    if not training:
        budgets = [memory.Budget(b.limit, b.what, True, b.note) for b in budgets]
    sentence = memory.over_budget(est, budgets) if est.blocks else None
    if sentence is not None:
        raise SetupError(f"{'Cannot train' if training else 'Cannot load the model'}: {sentence}.")


def build_models(project: Project, task_cls: type[Task], seed: int,
                 device: torch.device, *, training: bool = True) -> dict[str, fx.GraphModule]:
    """Compile each graph the task needs, deterministically from ``seed``, onto ``device``,
    after :func:`check_memory` (``training``: the memory of training, else of inference).
    Convolutional models use channels_last: with tensor cores on CUDA, and with oneDNN on
    the CPU (a training step 1.07-1.30x faster on the shipped convolutional templates:
    LeNet-5 1.18x, ResNet-mini 1.30x, the keyword CNN 1.26x, measured)."""
    check_memory(project, device, training=training)
    models: dict[str, fx.GraphModule] = {}
    for name in task_cls.graphs:
        graph = project.graphs.get(name)
        if graph is None:
            raise SetupError(f"a {task_cls.kind} project needs a graph named {name!r}")
        try:
            gm = compile_graph(graph, name, seed, analyze_graph(graph, name, project.graphs),
                               project.graphs)
        except CompileError as e:
            raise SetupError(f"the graph cannot be built:\n{e}") from None
        models[name] = in_training_layout(gm.to(device), device)
    return models


def in_training_layout(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` in the memory layout it trains fastest in on ``device``: channels_last
    for a convolutional model on CUDA and on the CPU (see :func:`build_models`)."""
    if device.type in ("cuda", "cpu") and any(isinstance(m, nn.Conv2d)
                                               for m in model.modules()):
        return model.to(memory_format=torch.channels_last)
    return model


def check_project(project: Project, bundle: Any) -> Iterator[Warning]:
    """The problems between ``project`` and its data, and of its fine-tuning settings: an
    error raises SetupError, a warning is yielded as an event."""
    for p in check_fit(project, bundle):
        if p.severity == "error":
            raise SetupError(f"{p}")
        yield Warning(kind="logits" if "outputs" in p.message else "fit", message=str(p))
    for p in finetune_problems(project):
        if p.severity == "error":
            raise SetupError(f"{p}")
        yield Warning(kind="finetune", message=str(p))


def build_optimizers(cfg: TrainingConfig, task: Task, models: Mapping[str, nn.Module],
                     tune: FineTune, device: torch.device
                     ) -> tuple[dict[str, torch.optim.Optimizer], dict[str, list[nn.Parameter]]]:
    """Each optimizer the task names, over the param groups of what trains now (frozen
    blocks left out), and the parameters its gradients are clipped over. A SetupError when
    everything an optimizer would update is frozen."""
    opts: dict[str, torch.optim.Optimizer] = {}
    params: dict[str, list[nn.Parameter]] = {}
    for name, graphs in task.optimizers().items():
        if tune.frozen_graphs(graphs):
            later = " before the blocks unfreeze" if tune.later_blocks else ""
            raise SetupError(f"every block of {' and '.join(graphs)} is frozen, so nothing "
                             f"would train{later}: make some blocks trainable (the new head, "
                             f"say) or set training.unfreeze_epoch to 1")
        params[name] = [p for g in graphs for p in models[g].parameters()]
        opts[name] = build_optimizer(cfg, tune.groups(graphs), device)
    return opts, params


def sample_event(s: SampleOut, epoch: int) -> Sample:
    if s.kind == "image":
        return Sample(epoch=epoch, kind="image", png_base64=base64.b64encode(s.png).decode("ascii"),
                      caption=s.caption)
    return Sample(epoch=epoch, kind="text", text=s.text, caption=s.caption)
