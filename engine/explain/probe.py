"""The blocks of a trained image classifier as explanations see them: which run can be
explained, the blocks in forward order with their output shapes, and a copy of the model
that exposes one block's output as a module.

Captum's layer methods hook a *module*; not every block is one (Add, Flatten and the
other functional blocks are plain operations in the compiled torch.fx graph). So a block
is probed by copying the graph with an ``nn.Identity`` inserted after the block's node:
the copy shares the run's weights, and the identity's output is the block's output, for
a module block and a functional one alike. A block is named ``"GRAPH/NODE"`` (the block
statistics' form, ``"model/conv2"``) or by its node id alone.
"""

from __future__ import annotations

import copy
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import fx, nn

from engine.errors import UserError

if TYPE_CHECKING:
    from engine.train.inference import LoadedRun

#: the graph explained: a classifier's one graph
GRAPH = "model"
#: the submodule name of the inserted identity
PROBE = "_explain_probe"


class ExplainError(UserError):
    """The run, the sample or the block cannot be explained; the message says why."""


@dataclass(frozen=True)
class BlockOutput:
    """A block of the explained graph and what it outputs for one sample."""

    key: str  # "model/conv2"
    node: str  # "conv2"
    type: str  # the block type, "Conv2d"
    shape: tuple[int, ...]  # one sample's output: (C, H, W) or (F,) or another shape

    @property
    def spatial(self) -> bool:
        """Feature maps (C, H, W): Grad-CAM can use the block."""
        return len(self.shape) == 3


def check_run(loaded: LoadedRun) -> None:
    """Refuse, with a sentence, a run that is not an image classifier."""
    kind, data = loaded.project.task.kind, loaded.bundle.kind
    if kind != "classification" or data != "image":
        what = f"a {kind.replace('_', ' ')} run on {data} data"
        raise ExplainError(f"{loaded.run.path}: explanations (saliency, Grad-CAM, feature "
                           f"maps) are made for image classification runs; this is {what}")


def model_of(loaded: LoadedRun) -> fx.GraphModule:
    model = loaded.task.models.get(GRAPH)
    if not isinstance(model, fx.GraphModule):
        raise ExplainError(f"{loaded.run.path}: the run has no compiled graph named {GRAPH!r}")
    return model


def block_outputs(loaded: LoadedRun) -> list[BlockOutput]:
    """Every block of the graph that computes something (Inputs and Outputs left out), in
    forward order, with its output shape for one sample (one forward pass on zeros)."""
    check_run(loaded)
    model = model_of(loaded)
    if _seen is not None and _seen[0]() is model:
        return _seen[1]  # the run's weights do not change its shapes: once per model
    types = {n.id: n.type for n in loaded.project.graphs[GRAPH].nodes}
    shapes: dict[str, tuple[int, ...]] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            out = super().run_node(n)
            if n.op != "placeholder" and n.name in types and isinstance(out, torch.Tensor):
                shapes[n.name] = tuple(int(d) for d in out.shape[1:])
            return out

    with torch.no_grad():
        Recorder(model).run(zeros_input(loaded))
    found = [BlockOutput(f"{GRAPH}/{name}", name, types[name], shape)
             for name, shape in shapes.items() if types[name] not in ("Input", "Output")]
    _remember(model, found)
    return found


#: the blocks of the model asked about last (the panel asks for each sample and block)
_seen: tuple[weakref.ref, list[BlockOutput]] | None = None


def _remember(model: nn.Module, found: list[BlockOutput]) -> None:
    global _seen
    _seen = (weakref.ref(model), found)


def conv_blocks(loaded: LoadedRun) -> list[str]:
    """The blocks Grad-CAM can use (outputs of shape C, H, W), in forward order; the last
    one is the default (the coarsest, most semantic maps)."""
    return [b.key for b in block_outputs(loaded) if b.spatial]


def resolve(loaded: LoadedRun, block: str) -> BlockOutput:
    """The block named ``block`` ("model/conv2" or "conv2"); an ExplainError naming the
    blocks there are when there is none."""
    found = block_outputs(loaded)
    node = block.removeprefix(f"{GRAPH}/")
    for b in found:
        if b.node == node:
            return b
    names = ", ".join(b.node for b in found) or "none"
    raise ExplainError(f"{loaded.run.path}: the model has no block {block!r}; its blocks are "
                       f"{names}")


def probed(loaded: LoadedRun, node: str) -> tuple[fx.GraphModule, nn.Module]:
    """A copy of the run's model whose submodule ``PROBE`` (an identity) outputs block
    ``node``'s output, and that probe. The copy shares the run's weights."""
    model = model_of(loaded)
    graph = copy.deepcopy(model.graph)
    target = next((n for n in graph.nodes if n.name == node), None)
    if target is None:
        raise ExplainError(f"{loaded.run.path}: the model has no block {node!r}")
    root = nn.Module()
    for name, child in model.named_children():
        root.add_module(name, child)
    probe = nn.Identity()
    root.add_module(PROBE, probe)
    with graph.inserting_after(target):
        out = graph.call_module(PROBE, (target,))
    target.replace_all_uses_with(out, delete_user_cb=lambda user: user is not out)
    gm = fx.GraphModule(root, graph)
    gm.eval()
    return gm, probe


def zeros_input(loaded: LoadedRun) -> torch.Tensor:
    return torch.zeros((1, *loaded.bundle.input_shape), device=loaded.task.device)
