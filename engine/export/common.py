"""What every export shares: the report, the error type, the source (run folder or project
file) resolved to a module with weights, and staged writing that leaves no partial files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import EXIT_FAILED, UserError, os_reason
from engine.project import FILE_SUFFIX, Graph, Project, ProjectError, load_project
from engine.tempfiles import clean_stale_temps, current_umask, export_prefix

RUN_PROJECT = "project.lforge"
RUN_WEIGHTS = "weights.safetensors"
RUN_METRICS = "evaluation.json"

Progress = Callable[[str], None] | None


class ExportError(UserError):
    """An export or import cannot be done. The message is for the user, one or two sentences."""


class ExportWriteError(ExportError):
    """The export was fine but its files could not be written (the disk filled up, the
    folder went read-only): a failure at run time, exit code 1."""

    exit_code = EXIT_FAILED


@dataclass(slots=True)
class ExportReport:
    """What an export did: files written, verification figures and messages for the user."""

    format: str
    graph: str
    files: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: largest |exported - PyTorch| per verification case (e.g. ``batch 1``); empty if n/a
    max_abs_diff: dict[str, float] = field(default_factory=dict)
    tolerance: float | None = None
    opset: int | None = None
    trained: bool = False
    #: further checks passed, one sentence each (a segmentation export's argmax masks...)
    checks: list[str] = field(default_factory=list)
    #: tables for the report (int8: "flags", "sensitivity", "comparison"), rows of plain dicts
    details: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def worst_diff(self) -> float | None:
        return max(self.max_abs_diff.values()) if self.max_abs_diff else None


@dataclass(slots=True)
class Source:
    """A project graph ready to export: where it came from, and its weights if trained."""

    project: Project
    graph_name: str
    graph: Graph
    origin: Path
    weights: dict[str, Any] | None = None  # state dict of this graph (None: untrained)
    metrics: dict[str, Any] | None = None  # evaluation.json: {"val": {...}, "test": {...}}
    #: how inputs were prepared (data.json, see engine.export.preprocessing); None: unknown
    data: dict[str, Any] | None = None

    @property
    def trained(self) -> bool:
        return self.weights is not None


def _pick_graph(project: Project, graph: str | None, origin: Path) -> str:
    names = list(project.graphs)
    if graph is not None:
        if graph not in project.graphs:
            raise ExportError(f"{origin}: no graph named {graph!r} (graphs: {', '.join(names)})")
        return graph
    if len(names) == 1:
        return names[0]
    if "model" in project.graphs:
        return "model"
    raise ExportError(f"{origin}: the project has several graphs ({', '.join(names)}): "
                      "choose one with --graph")


def load_source(path: str | os.PathLike[str], graph: str | None = None) -> Source:
    """Resolve a run folder (project snapshot + final weights) or a project file (untrained)."""
    p = Path(path)
    if p.is_dir():
        project_file = p / RUN_PROJECT
        weights_file = p / RUN_WEIGHTS
        for needed in (project_file, weights_file):
            if not needed.is_file():
                raise ExportError(f"{p} is not a complete run folder: {needed.name} is missing "
                                  f"(looked for {needed})")
        project = _load(project_file)
        name = _pick_graph(project, graph, p)
        weights = _run_weights(weights_file, name)
        metrics = None
        metrics_file = p / RUN_METRICS
        if metrics_file.is_file():
            try:
                loaded = json.loads(metrics_file.read_text(encoding="utf-8"))
                metrics = loaded if isinstance(loaded, dict) else None
            except (OSError, ValueError):
                metrics = None
        from engine.export.preprocessing import read_run_info

        data = read_run_info(p, None if (p / "data.json").is_file() else _metadata(weights_file))
        return Source(project, name, project.graphs[name], p, weights, metrics, data)
    if not p.exists():
        raise ExportError(f"{p}: no such run folder or project file")
    if p.suffix != FILE_SUFFIX:
        raise ExportError(f"{p}: expected a run folder or a {FILE_SUFFIX} project file")
    project = _load(p)
    name = _pick_graph(project, graph, p)
    return Source(project, name, project.graphs[name], p)


def _load(path: Path) -> Project:
    try:
        return load_project(path)
    except ProjectError as e:
        raise ExportError(str(e)) from None


def _metadata(path: Path) -> dict[str, str]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError, ValueError):
        return {}


def _run_weights(path: Path, graph: str) -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ExportError(f"{path}: cannot read the weights ({e})") from None
    own: dict[str, Any] = {}
    # A run's weights.safetensors as the trainer writes it (engine.train.checkpoint keys
    # ``model/<graph>/<name>``), else ``<graph>.<name>``.
    for prefix in (f"model/{graph}/", f"{graph}."):
        own = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        if own:
            break
    if not own:
        raise ExportError(f"{path}: holds no weights for graph {graph!r}")
    return own


def build_module(src: Source, seed: int | None = None):
    """The graph compiled to an fx.GraphModule in eval mode, with the run's weights if any."""
    from engine.compile import CompileError, compile_graph

    try:
        module = compile_graph(src.graph, src.graph_name,
                               src.project.training.seed if seed is None else seed,
                               library=src.project.graphs)
    except CompileError as e:
        raise ExportError(f"the graph {src.graph_name!r} has errors:\n{e}") from None
    if src.weights is not None:
        load_weights(module, src.weights, str(src.origin))
    return module.eval()


def load_weights(module, state: dict[str, Any], where: str) -> None:
    """Load ``state`` strictly, turning key and shape mismatches into one readable error."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:4])}")
        if extra:
            parts.append(f"unexpected {', '.join(extra[:4])}")
        raise ExportError(f"{where}: the weights do not match the graph ({'; '.join(parts)})")
    for k, v in expected.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise ExportError(f"{where}: weight {k} has shape {list(state[k].shape)} but the "
                              f"graph needs {list(v.shape)}")
    module.load_state_dict(state, strict=True)


def untrained_warning(src: Source) -> str:
    return (f"{src.origin} is a project file, not a run folder: exporting UNTRAINED weights "
            f"(seeded initial values, seed {src.project.training.seed}). Train it and export "
            "the run folder for a useful model.")


def missing_data_warning(src: Source) -> str:
    return (f"{src.origin} does not record how its inputs were prepared (no data.json: the "
            "run was trained before LayerForge saved it), so the export cannot say which "
            "normalisation (mean/std) or class names to use. Retrain the run to record them.")


# -- staged writing --------------------------------------------------------------------


class Stage:
    """A private temporary folder next to the destination. Files are written and verified
    here; ``commit`` moves them into place, and any failure removes everything."""

    def __init__(self, tmp: Path, dest_dir: Path, new_dir: bool) -> None:
        self.tmp = tmp
        self.dest_dir = dest_dir
        self.new_dir = new_dir
        self.names: list[str] = []

    def path(self, name: str) -> Path:
        if name not in self.names:
            self.names.append(name)
        return self.tmp / name

    def final(self, name: str) -> Path:
        return self.dest_dir / name


@contextmanager
def staged(dest_dir: Path) -> Iterator[Stage]:
    """Yield a Stage for files that belong in ``dest_dir``; commit them on success only."""
    dest_dir = Path(dest_dir)
    if dest_dir.exists() and not dest_dir.is_dir():
        raise ExportError(f"{dest_dir}: exists and is not a folder")
    new_dir = not dest_dir.exists()
    parent = dest_dir.parent if new_dir else dest_dir
    made: list[Path] = []  # parent folders created here, removed again if the export fails
    try:
        made = _make_parents(parent)
        clean_stale_temps(parent)  # staging folders of exports that were killed
        tmp = Path(tempfile.mkdtemp(prefix=export_prefix(), dir=parent))
    except (FileExistsError, NotADirectoryError):
        _remove_empty(made)
        blocker = next((a for a in [parent, *parent.parents] if a.exists() and not a.is_dir()),
                       parent)
        raise ExportError(f"cannot write to {dest_dir}: {blocker} is not a folder; choose "
                          "another --out") from None
    except PermissionError as e:
        _remove_empty(made)
        where = e.filename or parent
        raise ExportError(f"cannot write to {dest_dir}: permission denied in {where}") from None
    except OSError as e:
        _remove_empty(made)
        raise ExportError(f"cannot write to {dest_dir}: {os_reason(e)}") from None
    stage = Stage(tmp, dest_dir, new_dir)
    ok = False
    try:
        yield stage
        _commit(stage)
        ok = True
    except OSError as e:
        # a write in the stage failed (ENOSPC, EROFS, EIO...): the staged files mean nothing
        # to the user, the destination does
        raise ExportWriteError(f"cannot write the export to {dest_dir}: {os_reason(e)}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not ok:
            _remove_empty(made)


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing ancestors; return those created, outermost first."""
    missing = []
    for p in [folder, *folder.parents]:
        if p.exists():
            break
        missing.append(p)
    missing.reverse()
    made = []
    for p in missing:
        p.mkdir()
        made.append(p)
    return made


def _remove_empty(made: list[Path]) -> None:
    """Remove the folders in ``made`` (innermost first) that are still empty."""
    for p in reversed(made):
        try:
            p.rmdir()
        except OSError:
            break


def _commit(stage: Stage) -> None:
    # the permissions any new file of the user's gets (mkdtemp's folder is 0700); a file
    # that is replaced keeps its mode
    umask = current_umask()
    for name in stage.names:
        f = stage.tmp / name
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
        mode = 0o666 & ~umask
        if not stage.new_dir:
            try:
                mode = stage.final(name).stat().st_mode & 0o777
            except FileNotFoundError:
                pass
        os.chmod(f, mode)
    try:
        if stage.new_dir:
            for extra in stage.tmp.iterdir():  # scratch files used while verifying
                if extra.name not in stage.names:
                    shutil.rmtree(extra) if extra.is_dir() else extra.unlink()
            os.chmod(stage.tmp, 0o777 & ~umask)
            os.replace(stage.tmp, stage.dest_dir)
        else:
            for name in stage.names:
                os.replace(stage.tmp / name, stage.dest_dir / name)
    except OSError as e:
        raise ExportError(f"cannot write to {stage.dest_dir}: {os_reason(e)}") from None
