"""The project file: pydantic models, schema migrations and atomic load/save
(the writing itself is :mod:`engine.writes`).

A project is JSON with a ``schema_version``. Loading is parse -> migrate -> validate; any
problem raises :class:`ProjectError` with a sentence that names the file and the field.
Saving writes a temporary file in the same folder, fsyncs it, replaces the target and fsyncs
the folder, so a crash never leaves a half-written project behind.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationError,
    field_validator,
)

from engine.files import read_text
from engine.migrations import MIGRATIONS, SCHEMA_VERSION
from engine.project_sections import FairnessSpec as FairnessSpec
from engine.project_sections import Grouping as Grouping
from engine.project_sections import PrivacySpec as PrivacySpec
from engine.project_sections import SweepSpec as SweepSpec
from engine.project_sections import _Model

# re-exported: the rest of the engine and the app import them from here
from engine.writes import ProjectError as ProjectError
from engine.writes import WriteFailed as WriteFailed
from engine.writes import atomic_write_bytes as atomic_write_bytes
from engine.writes import atomic_write_text as atomic_write_text

FILE_SUFFIX = ".lforge"
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_JSON_DEPTH = 64
# training.device naming a configured SSH host (host names as engine.remote.config allows)
_REMOTE_DEVICE = re.compile(r"^remote:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


# Seeds reach torch.manual_seed (which takes -2**63 .. 2**64-1) with small offsets added per
# epoch and per task: a signed 64-bit range leaves room for them.
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1


class Node(_Model):
    """One block on the canvas. ``id`` is a stable Python identifier (see engine.naming)."""

    id: str
    type: str
    params: dict[str, Any] = Field(default_factory=dict)
    position: tuple[float, float] = (0.0, 0.0)
    label: str = ""
    #: False freezes the block's weights: they stay out of the optimizer and are bit-identical
    #: after training (until ``training.unfreeze_epoch`` unfreezes the listed blocks)
    trainable: bool = True
    #: the block's learning rate is ``training.lr * lr_mult`` (fine-tuning a backbone slower
    #: than its new head)
    lr_mult: float = Field(1.0, gt=0.0, le=1000.0)


class Edge(_Model):
    """A wire from ``src``'s output port to ``dst``'s input port ``dst_port``."""

    src: str
    dst: str
    src_port: str = "out"
    dst_port: str = "in"


class WeightsRef(_Model):
    """Where a composite graph's pretrained weights come from.

    ``source`` is ``hf:OWNER/NAME`` (a Hugging Face Hub repository, fetched at ``revision``
    through huggingface_hub's cache) or the path of a local ``.safetensors`` file. ``arch``
    names the key mapping in ``engine.zoo`` that turns the checkpoint's tensor names into the
    graph's node ids ("" when the file already uses them); ``prefix`` is the part of the
    checkpoint's names in front of the backbone's own (e.g. ``resnet.``).
    """

    source: str
    revision: str = ""
    file: str = "model.safetensors"
    sha256: str = ""
    arch: str = ""
    prefix: str = ""
    #: the zoo entry (``engine.zoo.catalog``) this checkpoint is, whose config then applies
    #: to a local file that has no config.json beside it
    entry: str = ""

    @field_validator("source", "file")
    @classmethod
    def _no_nul(cls, v: str) -> str:
        if "\x00" in v:
            raise ValueError("cannot contain a NUL character")
        return v


class Preprocess(_Model):
    """The input a pretrained graph was trained on: its image size and per-channel mean and
    standard deviation (pixels scaled to [0, 1] first)."""

    image_size: int = Field(224, ge=4, le=1024)
    mean: list[float] = Field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: list[float] = Field(default_factory=lambda: [0.229, 0.224, 0.225])


class PretrainedInfo(_Model):
    """What the card of a pretrained composite shows, recorded with the graph."""

    title: str = ""
    source: str = ""  # where the architecture and weights were published
    licence: str = ""
    accuracy: str = ""  # as its publisher reports it, e.g. "ImageNet-1k top-1 69.8%"


class Graph(_Model):
    #: Which way the graph reads: inputs on the left and outputs on the right of each block
    #: ("right"), or inputs on top and outputs below ("down", for deep networks).
    flow: Literal["right", "down"] = "right"
    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)
    #: a composite from the zoo or the Hub: where its weights come from, what input it
    #: expects and what its card says (None for the user's own graphs)
    weights: WeightsRef | None = None
    preprocess: Preprocess | None = None
    info: PretrainedInfo | None = None

    def node(self, node_id: str) -> Node | None:
        for n in self.nodes:
            if n.id == node_id:
                return n
        return None


SourceKind = Literal["builtin", "folder", "idx", "csv", "text", "download", "segmentation",
                     "detection", "texts", "pairs", "audio", "speech"]


class DatasetSpec(_Model):
    """Where the data comes from and how it is split and prepared."""

    source: SourceKind = "builtin"
    name: str = ""  # built-in or download set name (spirals, shapes, digits, mnist...)
    path: str = ""  # file or folder for folder/idx/csv/text/texts/pairs/audio/speech
    #: csv: the target column; texts: the label column; pairs: the target-text column
    #: ("" = found from the header)
    target: str = ""
    val_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.0, ge=0.0, lt=1.0)
    split_seed: int = Field(0, ge=SEED_MIN, le=SEED_MAX)
    normalize: bool = True
    image_size: int | None = Field(None, ge=4, le=1024)
    grayscale: bool = False
    augment_flip: bool = False
    augment_crop: int = Field(0, ge=0, le=64)  # padding for random crops; 0 = off
    augment_rotate: float = Field(0.0, ge=0.0, le=180.0)  # degrees
    seq_len: int = Field(64, ge=2, le=100_000)  # text and sequence windows
    #: fixed per-channel normalisation (a pretrained backbone's); None: computed from the
    #: training split when ``normalize`` is on
    mean: list[float] | None = None
    std: list[float] | None = None
    samples: int | None = Field(None, ge=10, le=10_000_000)  # size of generated sets
    #: segmentation and detection files: the masks folder, a COCO JSON file, a Pascal VOC
    #: folder of XML files or a YOLO labels folder ("" = found from the layout under ``path``)
    annotations: str = ""
    #: a file of class names, one per line ("" = found beside the data, or from the palette)
    labels: str = ""
    #: what a bad entry does (a box outside its image, an unknown class, a mask of the
    #: wrong size, a row without text, an unreadable WAV, a transcript character outside
    #: the vocabulary...): "stop" loading with a message naming it, or "skip" it and count it
    bad_entries: Literal["stop", "skip"] = "stop"
    #: texts and pairs: the column holding the text (pairs: the source text; "" = found)
    text_column: str = ""
    #: pairs from two aligned files: the target side (``path`` is the source side);
    #: speech: the transcripts file ("" = found: a CSV beside the clips or a .txt per .wav)
    target_path: str = ""
    #: texts and pairs: how text becomes token ids; the tokenizer is trained on the
    #: training split (``vocab_size`` caps words and BPE merges) and saved with the run
    tokenizer: Literal["char", "word", "bpe"] = "word"
    vocab_size: int = Field(8000, ge=16, le=1_000_000)
    lowercase: bool = True
    #: pairs: one tokenizer for both sides (False: one per side)
    shared_vocab: bool = True
    #: pairs: most target tokens per sample, with the start and end tokens (``seq_len``
    #: caps the source side, and the text of texts)
    target_len: int = Field(32, ge=3, le=4096)
    #: audio and speech: clips are resampled to this rate and padded or cut to this length
    sample_rate: int = Field(16000, ge=4000, le=96000)
    clip_seconds: float = Field(1.0, gt=0.0, le=60.0)
    #: audio augmentation (training split only): a random shift of up to this many
    #: seconds, and background noise mixed in at up to this level (peak ratio)
    augment_shift: float = Field(0.0, ge=0.0, le=10.0)
    augment_noise: float = Field(0.0, ge=0.0, le=1.0)
    #: a folder of background WAVs for the noise mix ("" = generated noise)
    noise_path: str = ""
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("val_fraction", "test_fraction")
    @classmethod
    def _finite(cls, v: float) -> float:
        if v != v:
            raise ValueError("must be a number")
        return v

    @field_validator("path", "annotations", "labels", "target_path", "noise_path")
    @classmethod
    def _no_nul(cls, v: str) -> str:
        # no file system takes a NUL in a name; os functions raise ValueError on one
        if "\x00" in v:
            raise ValueError("a path cannot contain a NUL character")
        return v

    def describe(self) -> str:
        if self.source in ("builtin", "download"):
            return f"{self.source}:{self.name}"
        extra = f":target={self.target}" if self.target else ""
        return f"{self.source}:{self.path}{extra}"


TaskKind = Literal["classification", "regression", "language_model", "gan", "autoencoder",
                   "segmentation", "detection", "seq2seq", "speech"]


class TaskSpec(_Model):
    kind: TaskKind = "classification"
    loss: str = ""  # empty: the task's default (cross_entropy, mse, bce...)
    latent_dim: int = Field(64, ge=1, le=4096)  # gan
    d_steps: int = Field(1, ge=1, le=20)  # gan: discriminator steps per generator step
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    #: segmentation: the mask value that marks pixels to leave out of the loss and metrics
    ignore_index: int = Field(255, ge=0, le=65535)
    #: detection: weight of the box size loss against the centre heatmap's (CenterNet: 0.1)
    size_weight: float = Field(0.1, ge=0.0, le=100.0)
    #: detection: decoding keeps at most this many boxes per image, scoring at least
    #: ``min_score``, after non-maximum suppression at ``nms_iou`` (boxes of one class)
    max_detections: int = Field(100, ge=1, le=1000)
    min_score: float = Field(0.01, ge=0.0, lt=1.0)
    nms_iou: float = Field(0.5, gt=0.0, le=1.0)
    #: seq2seq and speech: the beam width at evaluation (1 = greedy decoding)
    beam_width: int = Field(1, ge=1, le=64)


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
    seed: int = Field(0, ge=SEED_MIN, le=SEED_MAX)
    device: str = "auto"  # auto, cpu, cuda, cuda:N, or remote:HOST (a configured SSH host)
    gpus: int = Field(1, ge=1, le=64)  # processes (GPUs) on a remote host; DDP when > 1
    threads: int = Field(0, ge=0, le=1024)  # 0 = all cores but one
    amp: bool = True  # bf16/fp16 autocast on CUDA only
    checkpoint_every: int = Field(1, ge=1)  # epochs
    #: a run folder or a .safetensors file whose weights initialise the model: blocks
    #: matching by id and shape take them ("" = fresh initialisation)
    init_from: str = ""
    #: batch norm inside frozen blocks keeps its running statistics (eval mode)
    freeze_bn: bool = True
    #: fine-tuning in two phases: from this epoch (1-based; 0 = never) the blocks in
    #: ``unfreeze`` (node ids; empty = every frozen block) train too
    unfreeze_epoch: int = Field(0, ge=0)
    unfreeze: list[str] = Field(default_factory=list)
    #: block statistics (activations, dead units, gradient and update norms) every this
    #: many steps, recorded as events for the canvas's health badges and the training
    #: doctor; 0 = off
    stats_every: int = Field(50, ge=0, le=1_000_000)
    #: differentially private training (off by default)
    privacy: PrivacySpec = Field(default_factory=lambda: PrivacySpec())

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
    sweep: SweepSpec = Field(default_factory=SweepSpec)
    fairness: FairnessSpec = Field(default_factory=FairnessSpec)

    @field_validator("graphs")
    @classmethod
    def _some_graph(cls, v: dict[str, Graph]) -> dict[str, Graph]:
        if not v:
            raise ValueError("a project needs at least one graph")
        return v

    def to_json(self) -> str:
        raw = self.model_dump(mode="json")
        if raw.get("sweep") == SweepSpec().model_dump(mode="json"):
            del raw["sweep"]  # a project never swept reads as before sweeps existed
        if raw.get("fairness") == FairnessSpec().model_dump(mode="json"):
            del raw["fairness"]
        if raw["training"].get("privacy") == PrivacySpec().model_dump(mode="json"):
            del raw["training"]["privacy"]
        for graph in raw["graphs"].values():
            _drop_defaults(graph, _GRAPH_OPTIONAL)
            for node in graph["nodes"]:
                _drop_defaults(node, _NODE_OPTIONAL)
        return json.dumps(raw, indent=2, sort_keys=False) + "\n"


# Fields a file leaves out while they hold their default, so that graphs without composites
# or fine-tuning read as they did before those existed (each node stays a few lines).
_NODE_OPTIONAL = {"trainable": True, "lr_mult": 1.0}
_GRAPH_OPTIONAL = {"weights": None, "preprocess": None, "info": None}


def _drop_defaults(raw: dict[str, Any], defaults: dict[str, Any]) -> None:
    for key, value in defaults.items():
        if key in raw and raw[key] == value and type(raw[key]) is type(value):
            del raw[key]


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
    """Read, migrate and validate the project file ``path``; ProjectError naming the file."""
    p = Path(path)
    text = read_text(p, ProjectError, what="a project file", max_bytes=MAX_FILE_BYTES)
    return parse_project(text, str(p))


def save_project(project: Project, path: str | os.PathLike[str]) -> None:
    atomic_write_text(path, project.to_json())
