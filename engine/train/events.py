"""Training events: frozen plain-data records shared by the loop, the worker and the app.

Every event serialises to one JSON object (``to_json``) with a ``type`` field and a ``seq``
number; :func:`from_json` decodes it back to the same dataclass. Threads and processes
exchange only these, never live objects.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of every event. ``seq`` is assigned by the run recorder, contiguous from 1."""

    seq: int = field(default=0, kw_only=True)
    type: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        d["type"] = self.type
        return d

    def to_json(self) -> str:
        """One line of JSON (no newline), non-finite floats written as null."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)


def _plain(v: Any) -> Any:
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else None
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


@dataclass(frozen=True)
class Ready(Event):
    """A worker process has imported torch and waits for its job."""

    pid: int = 0
    torch_version: str = ""
    #: the names of the CUDA devices torch sees there (device i is ``cuda:i``), so the
    #: editor lists them without importing torch itself
    gpus: tuple[str, ...] = ()
    type: ClassVar[str] = "ready"


@dataclass(frozen=True)
class RunStarted(Event):
    """The run is set up: resolved config, where it runs, how big the model is."""

    run_dir: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    threads: int = 1
    parameters: int = 0
    dataset: str = ""
    task: str = ""
    total_steps: int = 0
    steps_per_epoch: int = 0
    resumed_from: int = 0  # global step the run resumed from (0 = fresh)
    #: parameters the optimizer updates now (frozen blocks excluded); None from an older peer
    trainable_parameters: int | None = None
    type: ClassVar[str] = "run_started"


#: at most this many keys per list of a WeightsLoaded event (init.json in the run folder
#: holds them all)
REPORT_CAP = 50


@dataclass(frozen=True)
class WeightsLoaded(Event):
    """Weights from elsewhere initialised a graph at a fresh start: a pretrained backbone's
    or ``training.init_from`` (a run folder or a .safetensors file). Tensors match by key
    and shape: ``loaded`` took the file's values, ``skipped`` are the file's tensors the
    model could not take (each ``"key: why"``), ``new`` are the model's tensors the file
    did not have (they keep their fresh initialisation). The key lists hold at most
    ``REPORT_CAP`` entries each; the counts are complete."""

    source: str = ""
    graph: str = "model"
    loaded: int = 0
    skipped: int = 0
    new: int = 0
    loaded_keys: list[str] = field(default_factory=list)
    skipped_keys: list[str] = field(default_factory=list)
    new_keys: list[str] = field(default_factory=list)
    type: ClassVar[str] = "weights_loaded"

    def summary(self) -> str:
        """One sentence: "Loaded 62 tensors from X, skipped 2 (fc.weight: ...), 2 new"."""
        text = f"Loaded {self.loaded} tensor{'s' * (self.loaded != 1)} from {self.source}"
        if self.skipped:
            shown = "; ".join(self.skipped_keys[:3])
            more = f"; {self.skipped - 3} more" if self.skipped > 3 else ""
            text += f", skipped {self.skipped} ({shown}{more})"
        if self.new:
            text += f", {self.new} new (freshly initialised)"
        return text


@dataclass(frozen=True)
class Unfrozen(Event):
    """Phase 2 of a fine-tuning run began: at the start of ``epoch`` the frozen ``blocks``
    joined the training (``training.unfreeze_epoch``)."""

    epoch: int = 0
    blocks: list[str] = field(default_factory=list)
    trainable_parameters: int = 0
    type: ClassVar[str] = "unfrozen"


@dataclass(frozen=True)
class Progress(Event):
    """Throttled progress. ``losses`` holds every step loss since the previous Progress."""

    epoch: int = 0
    step: int = 0  # global step of the last loss in ``losses`` (1-based)
    total_steps: int = 0
    loss: float = 0.0
    losses: list[float] = field(default_factory=list)
    lr: float = 0.0
    samples_per_s: float = 0.0
    eta_s: float = 0.0
    type: ClassVar[str] = "progress"


@dataclass(frozen=True)
class EpochEnded(Event):
    epoch: int = 0
    train: dict[str, float] = field(default_factory=dict)
    val: dict[str, Any] = field(default_factory=dict)
    lr: float = 0.0
    seconds: float = 0.0
    type: ClassVar[str] = "epoch_ended"


@dataclass(frozen=True)
class CheckpointWritten(Event):
    path: str = ""
    kind: str = "last"  # "last", "best" or "stop"
    epoch: int = 0
    step: int = 0
    type: ClassVar[str] = "checkpoint_written"


@dataclass(frozen=True)
class Sample(Event):
    """Generated text (``text``) or an image grid (``png_base64``) at the end of an epoch."""

    epoch: int = 0
    kind: str = "text"  # "text" or "image"
    text: str = ""
    png_base64: str = ""
    caption: str = ""
    type: ClassVar[str] = "sample"


@dataclass(frozen=True)
class Warning(Event):  # noqa: A001 - the protocol name; shadows the builtin only here
    kind: str = ""  # "nan", "divergence", "logits", ...
    message: str = ""
    #: the block it concerns as "GRAPH/NODE" ("" for the whole run): for kind "nan", the
    #: first block whose output or gradient went non-finite, when one could be found
    block: str = ""
    type: ClassVar[str] = "warning"


#: the statistics each block has in a BlockStats event, in this order
BLOCK_STAT_KEYS = ("act_mean", "act_std", "dead", "grad_out", "grad_params", "update_ratio",
                   "param_norm")


@dataclass(frozen=True)
class BlockStats(Event):
    """What each block did at one measured training step (every ``training.stats_every``
    steps, and step 1). ``blocks`` maps "GRAPH/NODE" (in the forward pass's order) to the
    :data:`BLOCK_STAT_KEYS`, None where one does not apply: ``act_mean``/``act_std`` of the
    block's output; ``dead`` the share of ReLU units zero for the whole batch, or of
    sigmoid/tanh outputs saturated; ``grad_out`` the L2 norm of the loss's gradient with
    respect to the output; ``grad_params`` of its parameters' gradients; ``update_ratio``
    ||w_after - w_before|| / ||w_before|| of this step's update; ``param_norm`` ||w||.
    See :mod:`engine.train.stats`."""

    epoch: int = 0  # the epoch in progress, 1-based
    step: int = 0  # the global step measured, 1-based
    blocks: dict[str, dict[str, float | None]] = field(default_factory=dict)
    type: ClassVar[str] = "block_stats"


@dataclass(frozen=True)
class Privacy(Event):
    """Differentially private training: the privacy spent so far (``epsilon`` at
    ``delta``, from Opacus' accountant) against the ``target``, at the end of an epoch
    (``step`` counts optimizer steps from the run's start); ``noise`` is the noise
    multiplier derived from the target when the run started."""

    epoch: int = 0
    step: int = 0
    epsilon: float = 0.0
    delta: float = 0.0
    target: float = 0.0
    noise: float = 0.0
    max_grad_norm: float = 0.0
    type: ClassVar[str] = "privacy"


@dataclass(frozen=True)
class Finished(Event):
    metrics: dict[str, Any] = field(default_factory=dict)
    best_epoch: int = 0
    best_value: float | None = None
    monitor: str = ""
    epochs: int = 0
    seconds: float = 0.0
    early_stopped: bool = False
    type: ClassVar[str] = "finished"


@dataclass(frozen=True)
class Stopped(Event):
    """The user stopped the run; a checkpoint to resume from was written."""

    epoch: int = 0
    step: int = 0
    checkpoint: str = ""
    type: ClassVar[str] = "stopped"


@dataclass(frozen=True)
class Failed(Event):
    """The run cannot go on. ``message`` is a sentence for the user; ``detail`` is technical."""

    message: str = ""
    detail: str = ""
    type: ClassVar[str] = "failed"


@dataclass(frozen=True)
class Paused(Event):
    """The run waits between two steps until it is resumed or stopped (the UI's Pause state
    follows this event, not the command it sent)."""

    epoch: int = 0
    step: int = 0
    type: ClassVar[str] = "paused"


@dataclass(frozen=True)
class Resumed(Event):
    """A paused run goes on."""

    epoch: int = 0
    step: int = 0
    type: ClassVar[str] = "resumed"


# -- session events: what a source says about itself, never recorded in a run folder ----


@dataclass(frozen=True)
class Status(Event):
    """Where the source of a run stands when that is not the run's own news: ``connecting``,
    ``uploading``, ``reconnecting``, ``downloading``, ``loading`` (a fresh run reads its
    pretrained weights, fetched from the Hub the first time), or ``running`` again after a
    reconnect. ``text`` says it in words; ``done``/``total`` count bytes when known."""

    state: str = ""
    text: str = ""
    done: int = 0
    total: int = 0
    type: ClassVar[str] = "status"


@dataclass(frozen=True)
class Notice(Event):
    """A sentence for the user about the machinery rather than the run: a worker process
    that died, a link that stayed down, artifacts that could not be downloaded."""

    message: str = ""
    error: bool = True
    type: ClassVar[str] = "notice"


@dataclass(frozen=True)
class Detached(Event):
    """The source stopped following a run that goes on elsewhere (on its SSH host); the run
    folder's ``remote.json`` lets a later session attach to it again."""

    run_dir: str = ""
    message: str = ""
    type: ClassVar[str] = "detached"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (Ready, RunStarted, Progress, EpochEnded, CheckpointWritten, Sample, Warning,
                Finished, Stopped, Failed, Paused, Resumed, Status, Notice, Detached,
                WeightsLoaded, Unfrozen, BlockStats, Privacy)
}
#: the run is over
TERMINAL = (Finished, Stopped, Failed)
#: a source's events end with one of these (a detached run goes on elsewhere)
ENDS = (Finished, Stopped, Failed, Detached)
#: what a source says about itself; never written to events.jsonl
SESSION = (Status, Notice, Detached)


def from_dict(d: dict[str, Any]) -> Event:
    """Decode a dict made by :meth:`Event.to_dict`. Unknown fields are ignored (newer peer)."""
    cls = EVENT_TYPES.get(d.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown event type {d.get('type')!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {k: v for k, v in d.items() if k in names}
    if cls is Progress and "losses" in kwargs:
        kwargs["losses"] = [float("nan") if v is None else v for v in kwargs["losses"]]
    return cls(**kwargs)


def from_json(line: str) -> Event:
    """Decode one JSON line written by :meth:`Event.to_json`."""
    d = json.loads(line)
    if not isinstance(d, dict):
        raise ValueError("an event is a JSON object")
    return from_dict(d)


def read_events(path: str | Path) -> list[Event]:
    """Every decodable event of an ``events.jsonl`` file, in order. A torn last line (a
    writer killed mid-line), a line of an unknown type (a newer LayerForge) or a missing
    file are skipped: readers show what can be shown."""
    out: list[Event] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    out.append(from_json(line))
                except (ValueError, TypeError):
                    continue
    except OSError:
        pass
    return out
