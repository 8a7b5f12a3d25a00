"""Initialising a fresh run's models from weights made elsewhere.

Two sources, in this order, at a fresh start only (a resumed run has its checkpoint):

1. the pretrained weights of the composites the model uses (a zoo or Hub backbone:
   ``engine.zoo.weights.pretrained_state``);
2. ``training.init_from``: a run folder (its final weights, else its best or last
   checkpoint) or any ``.safetensors`` file. Every trained LayerForge run is so a
   pretrained source too.

Tensors match by key (``<node id>.<param>``, ``<group id>.<inner id>.<param>`` inside a
composite) and shape. Each source gives an :class:`InitReport`: what was loaded, what was
skipped and why, and what is new (in the model, not in the file). Never pickle: files are
read with safetensors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.composite import descendants
from engine.errors import UserError, os_reason
from engine.project import Project, atomic_write_text
from engine.train.events import REPORT_CAP, WeightsLoaded

if TYPE_CHECKING:
    import torch
    from torch import nn

#: the report of a run's initialisation, in its run folder
INIT_REPORT = "init.json"
#: in a run folder, the weights init_from takes, best first
RUN_WEIGHTS = ("weights.safetensors", "checkpoints/best.safetensors",
               "checkpoints/last.safetensors")


class InitError(UserError):
    """The weights to start from cannot be used; the message names the file."""


@dataclass
class InitReport:
    """What one source gave one graph."""

    source: str
    graph: str
    loaded: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (key, why)
    new: list[str] = field(default_factory=list)

    def to_event(self) -> WeightsLoaded:
        return WeightsLoaded(source=self.source, graph=self.graph, loaded=len(self.loaded),
                             skipped=len(self.skipped), new=len(self.new),
                             loaded_keys=self.loaded[:REPORT_CAP],
                             skipped_keys=[f"{k}: {why}" for k, why in self.skipped[:REPORT_CAP]],
                             new_keys=self.new[:REPORT_CAP])

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "graph": self.graph, "loaded": self.loaded,
                "skipped": [{"key": k, "why": why} for k, why in self.skipped],
                "new": self.new}


def init_file(path_text: str) -> Path:
    """The weights file ``training.init_from`` names: a ``.safetensors`` file, or in a run
    folder its final weights, else its best or last checkpoint. InitError naming the path
    when there is none."""
    path = Path(path_text).expanduser()
    if path.is_dir():
        for name in RUN_WEIGHTS:
            if (path / name).is_file():
                return path / name
        raise InitError(f"training.init_from: {path} is a folder without weights (no "
                        "weights.safetensors nor checkpoints in it): choose a run folder of a "
                        "run that trained, or a .safetensors file")
    if not path.exists():
        raise InitError(f"training.init_from: {path} does not exist: choose a run folder or a "
                        ".safetensors file, or clear the setting to start from fresh weights")
    if path.suffix.lower() != ".safetensors":
        raise InitError(f"training.init_from: {path} is not a .safetensors file: choose a run "
                        "folder or a .safetensors file (other formats are not read, since "
                        "loading them could run code)")
    return path


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors file; InitError naming it when it cannot be read."""
    from safetensors import safe_open

    tensors: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            for k in f.keys():  # noqa: SIM118 - safe_open is not iterable
                tensors[k] = f.get_tensor(k)
    except OSError as e:
        raise InitError(f"training.init_from: cannot read {path} ({os_reason(e)})") from None
    except Exception as e:  # safetensors' own errors: a truncated or foreign file
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise InitError(f"training.init_from: {path} is not a readable safetensors file "
                        f"({first}): choose another file") from None
    return tensors


def per_graph(tensors: Mapping[str, torch.Tensor], graphs: list[str]) -> dict[str, dict[str, Any]]:
    """The tensors meant for each of ``graphs``. A LayerForge run's weights or checkpoint
    keys them ``model/<graph>/<key>`` (a run of one graph initialises a project of one graph
    whatever the two are named); any other file's keys are the model's own."""
    if not any(k.startswith("model/") for k in tensors):
        return {g: dict(tensors) for g in graphs}
    found: dict[str, dict[str, Any]] = {}
    for k, v in tensors.items():
        if k.startswith("model/"):
            g, _, rest = k[len("model/"):].partition("/")
            found.setdefault(g, {})[rest] = v
    if len(found) == 1 and len(graphs) == 1 and graphs[0] not in found:
        return {graphs[0]: next(iter(found.values()))}
    return {g: found.get(g, {}) for g in graphs}


def _shape(shape: Any) -> str:
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def load_matching(model: nn.Module, tensors: Mapping[str, torch.Tensor], source: str,
                  graph: str) -> InitReport:
    """Copy into ``model`` every tensor of ``tensors`` whose key and shape match its state
    dict (parameters and buffers, cast to the model's dtype); the report of what happened."""
    import torch

    sd = model.state_dict()
    report = InitReport(source, graph)
    with torch.no_grad():
        for key, target in sd.items():  # in the model's order
            value = tensors.get(key)
            if value is None:
                report.new.append(key)
            elif tuple(target.shape) != tuple(value.shape):
                report.skipped.append((key, f"shape {_shape(value.shape)} in the file, "
                                       f"{_shape(target.shape)} in the model"))
                report.new.append(key)
            else:
                target.copy_(value)
                report.loaded.append(key)
    report.skipped += [(key, "not in the model") for key in tensors if key not in sd]
    return report


def _used(project: Project, name: str) -> list[str]:
    """The composites graph ``name`` uses that bring pretrained weights."""
    return [g for g in descendants(project.graphs, name)
            if project.graphs.get(g) is not None and project.graphs[g].weights is not None]


def pretrained_sources(project: Project, models: Mapping[str, nn.Module]) -> list[str]:
    """"resnet18 (hf:microsoft/resnet-18)" for each checkpoint the models' pretrained
    composites read: composites cut from one backbone (a U-Net's encoder stages) share a
    source and are named together, "resnet18_stem, resnet18_layer1 (hf:...)"."""
    by_source: dict[str, list[str]] = {}
    for name in models:
        for g in _used(project, name):
            users = by_source.setdefault(project.graphs[g].weights.source, [])  # type: ignore[union-attr]
            if g not in users:
                users.append(g)
    return [f"{', '.join(users)} ({source})" for source, users in by_source.items()]


def pretrained(project: Project, models: Mapping[str, nn.Module],
               progress: Callable[[int, int], None] | None = None,
               cancel: Callable[[], bool] | None = None) -> list[InitReport]:
    """Load the pretrained weights of the composites each model uses (those whose graph
    has ``weights``); one report per model that uses any."""
    reports = []
    for name, model in models.items():
        used = _used(project, name)
        if not used:
            continue
        try:
            from engine.zoo.weights import pretrained_state
        except ImportError:
            raise InitError(f"graph {name!r} uses pretrained composites ({', '.join(used)}) but "
                            "this LayerForge cannot load pretrained weights (engine.zoo.weights "
                            "is missing)") from None
        state = pretrained_state(project, name, progress=progress, cancel=cancel)
        refs = ", ".join(dict.fromkeys(project.graphs[g].weights.source for g in used))  # type: ignore[union-attr]
        reports.append(load_matching(model, state, f"pretrained {', '.join(used)} ({refs})", name))
    return reports


def init_from(project: Project, models: Mapping[str, nn.Module]) -> list[InitReport]:
    """Load ``training.init_from`` on top of what the models hold; one report per model."""
    if not project.training.init_from:
        return []
    path = init_file(project.training.init_from)
    tensors = per_graph(read_tensors(path), list(models))
    return [load_matching(model, tensors[name], str(path), name)
            for name, model in models.items()]


def write_reports(run_dir: Path, reports: list[InitReport]) -> None:
    """Record the whole reports (no cap) as ``init.json`` in the run folder."""
    text = json.dumps({"version": 1, "reports": [r.to_dict() for r in reports]}, indent=2,
                      ensure_ascii=False)
    atomic_write_text(run_dir / INIT_REPORT, text + "\n")


def initialise(project: Project, models: Mapping[str, nn.Module]) -> list[InitReport]:
    """A fresh run's initialisation: pretrained composites first, then init_from on top."""
    return pretrained(project, models) + init_from(project, models)
