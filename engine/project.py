"""The project file: pydantic models, schema migrations and atomic load/save.

A project is JSON with a ``schema_version``. Loading is parse -> migrate -> validate; any
problem raises :class:`ProjectError` with a sentence that names the file and the field.
Saving writes a temporary file in the same folder, fsyncs it, replaces the target and fsyncs
the folder, so a crash never leaves a half-written project behind.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SCHEMA_VERSION = 1
FILE_SUFFIX = ".lforge"
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_JSON_DEPTH = 64
# training.device naming a configured SSH host (host names as engine.remote.config allows)
_REMOTE_DEVICE = re.compile(r"^remote:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ProjectError(Exception):
    """A project file cannot be read, understood or written. The message is for the user."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Node(_Model):
    """One block on the canvas. ``id`` is a stable Python identifier (see engine.naming)."""

    id: str
    type: str
    params: dict[str, Any] = Field(default_factory=dict)
    position: tuple[float, float] = (0.0, 0.0)
    label: str = ""


class Edge(_Model):
    """A wire from ``src``'s output port to ``dst``'s input port ``dst_port``."""

    src: str
    dst: str
    src_port: str = "out"
    dst_port: str = "in"


class Graph(_Model):
    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)

    def node(self, node_id: str) -> Node | None:
        for n in self.nodes:
            if n.id == node_id:
                return n
        return None


SourceKind = Literal["builtin", "folder", "idx", "csv", "text", "download"]


class DatasetSpec(_Model):
    """Where the data comes from and how it is split and prepared."""

    source: SourceKind = "builtin"
    name: str = ""  # built-in or download set name (spirals, shapes, digits, mnist...)
    path: str = ""  # file or folder for folder/idx/csv/text
    target: str = ""  # csv target column
    val_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.0, ge=0.0, lt=1.0)
    split_seed: int = 0
    normalize: bool = True
    image_size: int | None = Field(None, ge=4, le=1024)
    grayscale: bool = False
    augment_flip: bool = False
    augment_crop: int = Field(0, ge=0, le=64)  # padding for random crops; 0 = off
    augment_rotate: float = Field(0.0, ge=0.0, le=180.0)  # degrees
    seq_len: int = Field(64, ge=2, le=100_000)  # text and sequence windows
    samples: int | None = Field(None, ge=10, le=10_000_000)  # size of generated sets
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("val_fraction", "test_fraction")
    @classmethod
    def _finite(cls, v: float) -> float:
        if v != v:
            raise ValueError("must be a number")
        return v

    def describe(self) -> str:
        if self.source in ("builtin", "download"):
            return f"{self.source}:{self.name}"
        extra = f":target={self.target}" if self.target else ""
        return f"{self.source}:{self.path}{extra}"


TaskKind = Literal["classification", "regression", "language_model", "gan", "autoencoder"]


class TaskSpec(_Model):
    kind: TaskKind = "classification"
    loss: str = ""  # empty: the task's default (cross_entropy, mse, bce...)
    latent_dim: int = Field(64, ge=1, le=4096)  # gan
    d_steps: int = Field(1, ge=1, le=20)  # gan: discriminator steps per generator step
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)


class TrainingConfig(_Model):
    optimizer: Literal["sgd", "adam", "adamw", "rmsprop"] = "adam"
    lr: float = Field(1e-3, gt=0.0, le=100.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    nesterov: bool = False
    beta1: float = Field(0.9, ge=0.0, lt=1.0)
    beta2: float = Field(0.999, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0, le=10.0)
    schedule: Literal["none", "step", "cosine", "onecycle", "plateau"] = "none"
    step_size: int = Field(10, ge=1)  # epochs, for "step"
    gamma: float = Field(0.1, gt=0.0, le=1.0)  # decay factor for step and plateau
    warmup_epochs: float = Field(0.0, ge=0.0, le=1000.0)
    grad_clip: float = Field(0.0, ge=0.0)  # max grad norm; 0 = off
    batch_size: int = Field(64, ge=1, le=1_000_000)
    epochs: int = Field(10, ge=1, le=100_000)
    early_stopping: bool = False
    monitor: str = "val_loss"
    patience: int = Field(5, ge=1, le=10_000)
    seed: int = 0
    device: str = "auto"  # auto, cpu, cuda, cuda:N, or remote:HOST (a configured SSH host)
    gpus: int = Field(1, ge=1, le=64)  # processes (GPUs) on a remote host; DDP when > 1
    threads: int = Field(0, ge=0, le=1024)  # 0 = all cores but one
    amp: bool = True  # bf16/fp16 autocast on CUDA only
    checkpoint_every: int = Field(1, ge=1)  # epochs

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if v in ("auto", "cpu", "cuda", "mps") or (
            v.startswith("cuda:") and v[5:].isdigit()
        ) or _REMOTE_DEVICE.match(v):
            return v
        raise ValueError("must be auto, cpu, cuda, cuda:N or remote:HOST")


class RunRef(_Model):
    """A run of this project, recorded so the runs list survives restarts."""

    id: str
    path: str
    host: str = "local"
    started: str = ""


class Project(_Model):
    schema_version: int = SCHEMA_VERSION
    name: str = "untitled"
    graphs: dict[str, Graph] = Field(default_factory=lambda: {"model": Graph()})
    dataset: DatasetSpec = Field(default_factory=DatasetSpec)
    task: TaskSpec = Field(default_factory=TaskSpec)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    runs: list[RunRef] = Field(default_factory=list)
    notes: str = ""

    @field_validator("graphs")
    @classmethod
    def _some_graph(cls, v: dict[str, Graph]) -> dict[str, Graph]:
        if not v:
            raise ValueError("a project needs at least one graph")
        return v

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"


# --- migrations -------------------------------------------------------------------------
# Each entry upgrades a raw dict from version k to k + 1. Version 0 was the pre-release
# format with a single top-level "graph".


def _migrate_0_to_1(raw: dict[str, Any]) -> dict[str, Any]:
    raw = dict(raw)
    if "graph" in raw and "graphs" not in raw:
        raw["graphs"] = {"model": raw.pop("graph")}
    raw["schema_version"] = 1
    return raw


MIGRATIONS = {0: _migrate_0_to_1}


def migrate(raw: dict[str, Any], source: str = "project") -> dict[str, Any]:
    version = raw.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProjectError(f"{source}: schema_version is missing or not a whole number")
    if version > SCHEMA_VERSION:
        raise ProjectError(
            f"{source}: it was saved by a newer LayerForge (schema_version {version}; this "
            f"version reads up to {SCHEMA_VERSION}). Update LayerForge to open it."
        )
    if version < 0:
        raise ProjectError(f"{source}: schema_version {version} is not a known version")
    while version < SCHEMA_VERSION:
        raw = MIGRATIONS[version](raw)
        version = raw["schema_version"]
    return raw


def _depth_ok(text: str) -> bool:
    depth = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def _format_validation(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors()[:8]:
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"{source}: {where}: {e['msg']}")
    more = len(err.errors()) - 8
    if more > 0:
        lines.append(f"{source}: ... and {more} more problems")
    return "\n".join(lines)


def parse_project(text: str, source: str = "project") -> Project:
    """Parse, migrate and validate project JSON text."""
    if not _depth_ok(text):
        raise ProjectError(f"{source}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise ProjectError(f"{source}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except (RecursionError, ValueError) as e:
        raise ProjectError(f"{source}: not valid JSON ({e})") from None
    if not isinstance(raw, dict):
        raise ProjectError(f"{source}: expected a JSON object at the top level")
    raw = migrate(raw, source)
    try:
        return Project.model_validate(raw)
    except ValidationError as e:
        raise ProjectError(_format_validation(e, source)) from None
    except (RecursionError, ValueError, TypeError) as e:
        raise ProjectError(f"{source}: {e}") from None


def load_project(path: str | os.PathLike[str]) -> Project:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ProjectError(f"{p}: {size} bytes is too large for a project file")
        data = p.read_bytes()
    except FileNotFoundError:
        raise ProjectError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ProjectError(f"{p}: is a folder, not a project file") from None
    except PermissionError:
        raise ProjectError(f"{p}: permission denied") from None
    except OSError as e:
        raise ProjectError(f"{p}: cannot read ({e.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProjectError(f"{p}: not UTF-8 text (byte {e.start})") from None
    return parse_project(text, str(p))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` so that ``path`` holds either the old or the new content, never a mix."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except FileNotFoundError:
        raise ProjectError(f"{target}: the folder {folder} does not exist") from None
    except PermissionError:
        raise ProjectError(f"{target}: cannot write in {folder} (permission denied)") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if target.exists():
            try:
                os.chmod(tmp, target.stat().st_mode & 0o777)
            except OSError:
                pass
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise ProjectError(f"{target}: cannot write ({e.strerror})") from None
        raise
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass  # some file systems cannot fsync a folder; the replace is still atomic


def save_project(project: Project, path: str | os.PathLike[str]) -> None:
    atomic_write_text(path, project.to_json())
