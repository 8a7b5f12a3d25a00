"""Building what a run trains: compiled models on the device, and sample events."""

from __future__ import annotations

import base64

import torch
from torch import fx, nn

from engine.compile import CompileError, compile_graph
from engine.project import Project
from engine.shapes import analyze_graph
from engine.tasks import SampleOut, Task
from engine.train.events import Sample


class SetupError(Exception):
    """The run cannot start; the message is for the user."""


def build_models(project: Project, task_cls: type[Task], seed: int,
                 device: torch.device) -> dict[str, fx.GraphModule]:
    """Compile each graph the task needs, deterministically from ``seed``, onto ``device``.
    On CUDA, convolutional models use channels_last (faster with tensor cores)."""
    models: dict[str, fx.GraphModule] = {}
    for name in task_cls.graphs:
        graph = project.graphs.get(name)
        if graph is None:
            raise SetupError(f"a {task_cls.kind} project needs a graph named {name!r}")
        try:
            gm = compile_graph(graph, name, seed, analyze_graph(graph, name))
        except CompileError as e:
            raise SetupError(f"the graph cannot be built:\n{e}") from None
        gm = gm.to(device)
        if device.type == "cuda" and any(isinstance(m, nn.Conv2d) for m in gm.modules()):
            gm = gm.to(memory_format=torch.channels_last)
        models[name] = gm
    return models


def sample_event(s: SampleOut, epoch: int) -> Sample:
    if s.kind == "image":
        return Sample(epoch=epoch, kind="image", png_base64=base64.b64encode(s.png).decode("ascii"),
                      caption=s.caption)
    return Sample(epoch=epoch, kind="text", text=s.text, caption=s.caption)
