"""What the "Try it" panel asks of a run, without widgets: the facts that pick the input
widgets (read on the GUI thread, no torch), the header sentence, a typed row read as
numbers, and the answer to one input (a background job), which is
:func:`engine.train.predict.predict`'s, the same as ``layerforge predict`` gives.

A run is opened for trying with :func:`engine.train.inference.open_model`: its weights and
data.json, not its data set (seconds less, and it works for a downloaded remote run whose
data are elsewhere). :class:`ModelCache` keeps the one opened last. It is the evaluation
panel's :class:`app.panels.run_results.RunCache` with another opener, and a cache of its
own on purpose: that one loads the data set, and its lock would make a Try wait behind a
whole split being evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.panels.run_results import RunCache
from engine.errors import UserError

#: how many likeliest classes a classifier's answer shows
TOP = 5
#: the kinds whose input is a picture (a file, a paste, a drawing)
IMAGE_KINDS = ("image", "segmentation", "detection")
#: the kinds whose input is a row of numbers
VECTOR_KINDS = ("vector", "regression")
#: a drawing pad is offered for grayscale inputs at most this many pixels a side
DRAW_MAX = 64
#: what a run that takes no input does instead, by task kind
NO_INPUT = {
    "gan": "A GAN run makes pictures from noise and takes no input: see its pictures in "
           "the Samples tab.",
    "autoencoder": "An autoencoder run rebuilds its own input: see its reconstructions in "
                   "the Samples tab.",
}
NO_RUN = "No run to try yet: train one, or pick a run in the Runs list."


@dataclass
class TryFacts:
    """A run as the Try it panel sees it before loading it (from
    :func:`engine.train.predict.input_facts`)."""

    run_dir: str
    kind: str  # the predict kind, "" when the run takes no input
    task: str
    header: str
    features: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    channels: int = 0
    image_size: tuple[int, int] | None = None  # (height, width) of image inputs
    dark_ink: bool = False  # the images are dark strokes on a light ground
    sample_rate: int = 0
    inputs: int = 0  # numbers a row holds (vector and regression runs)
    beam_width: int = 1  # the project's beam width (seq2seq and speech decode with it)
    problem: str = ""  # why the run cannot be tried now ("" when it can)

    @property
    def is_image(self) -> bool:
        return self.image_size is not None and self.kind in (*IMAGE_KINDS, "regression")

    @property
    def drawable(self) -> bool:
        """Small grayscale pictures: the user may draw one."""
        return (self.is_image and self.channels == 1 and self.image_size is not None
                and max(self.image_size) <= DRAW_MAX)


def read_facts(run_dir: str) -> TryFacts:
    """The facts of a run folder (quick: the project snapshot and data.json). Raises
    ProjectError with a sentence when it is not a run folder."""
    from engine.train.predict import input_facts
    from engine.train.rundir import RunDir

    facts = dict(input_facts(run_dir))
    project = RunDir(run_dir).load_project()
    kind = str(facts.get("kind") or "")
    side = facts.get("image_size")
    size = facts.get("image_hw") or ([side, side] if side else None)
    t = TryFacts(run_dir=str(run_dir), kind=kind, task=str(facts.get("task") or ""),
                 header="", features=[str(f) for f in facts.get("features") or []],
                 classes=[str(c) for c in facts.get("classes") or []],
                 channels=int(facts.get("channels") or 0),
                 image_size=(int(size[0]), int(size[-1])) if size else None,
                 dark_ink=facts.get("ink") == "dark",
                 sample_rate=int(facts.get("sample_rate") or 0),
                 inputs=int(facts.get("values") or 0),
                 beam_width=int(project.task.beam_width or 1),
                 problem=str(facts.get("problem") or ""))
    data = project.dataset.name or Path(project.dataset.path or "").name or "its data"
    t.header = f"{project.name or Path(run_dir).name} on {data}: {describe_input(t)}"
    return t


def describe_input(t: TryFacts) -> str:
    """What the run takes and answers, in words: "28x28 grayscale images, 10 classes"."""
    classes = f", {len(t.classes)} classes" if t.classes else ""
    if t.is_image:
        side = f"{t.image_size[1]}x{t.image_size[0]} " if t.image_size else ""
        colour = "grayscale" if t.channels == 1 else "colour"
        what = {"segmentation": ", a class per pixel", "detection": ", boxes"}.get(t.kind, "")
        values = ", a value" if t.kind == "regression" else ""
        return f"{side}{colour} images{what}{values}{classes}"
    if t.kind in VECTOR_KINDS:
        n = t.inputs
        answer = classes or ", predicts values"
        return f"{n} number{'s' if n != 1 else ''} per sample{answer}"
    if t.kind in ("text", "seq2seq"):
        return "a text" + (classes or ", answers a text")
    if t.kind == "language":
        return "a prompt, continued one token at a time"
    if t.kind in ("sound", "speech"):
        rate = f" at {t.sample_rate} Hz" if t.sample_rate else ""
        return f"sound clips{rate}" + (classes or ", answers their words")
    return f"a {t.task.replace('_', ' ')} model"


def no_input(t: TryFacts) -> str:
    """What to do with a run that takes no input to try (a GAN, an autoencoder)."""
    if t.task in NO_INPUT:
        return NO_INPUT[t.task]
    return (t.problem[:1].upper() + t.problem[1:] if t.problem else
            f"This {t.task.replace('_', ' ')} run takes no input to try: pick a run that "
            "classifies or predicts in the Runs list.")


_SEPARATORS = re.compile(r"[,\t;]|\s+")


def parse_row(text: str, names: list[str] | None = None) -> list[float]:
    """A pasted or typed row of numbers (comma, tab, semicolon or space separated). A cell
    that is not a number raises UserError naming it (by feature name when known)."""
    cells = [c for c in (s.strip() for s in _SEPARATORS.split(text.strip())) if c]
    if not cells:
        raise UserError("the row is empty: type or paste numbers separated by commas or tabs")
    values = []
    for i, cell in enumerate(cells):
        try:
            values.append(float(cell))
        except ValueError:
            where = names[i] if names and i < len(names) else f"value {i + 1}"
            raise UserError(f"{where}: '{cell}' is not a number") from None
    return values


@dataclass
class TryAnswer:
    """One answer: which run and which question it is for, predict's dict, and the
    options it was asked with (the beam width the answer shows)."""

    run_dir: str
    serial: int
    result: dict[str, Any]
    seconds: float
    options: dict[str, Any] = field(default_factory=dict)


def open_for_trying(run_dir: str) -> Any:
    """A run's model alone (:func:`engine.train.inference.open_model`), imported when
    first needed: torch is slow to import and the GUI opens without it."""
    from engine.train.inference import open_model

    return open_model(run_dir)


class ModelCache(RunCache):
    """The run opened last for trying (its model alone, :func:`open_for_trying`), per run
    folder and weights file version (a run trained again answers with its new weights).
    ``lock`` is held while it answers: one answer at a time."""

    def __init__(self) -> None:
        super().__init__(open_for_trying)


def answer(cache: Any, run_dir: str, value: Any, **options: Any) -> dict[str, Any]:
    """predict's answer to one input of the run at ``run_dir`` (a background job): a file
    path, raw image bytes, a uint8 drawing, a row of floats or a text, by the run's kind;
    ``options`` are predict's (a language model's ``length``, ``temperature``, ``seed``;
    a seq2seq or speech run's ``beam_width``).
    ``cache``: a :class:`ModelCache` (or anything with ``open(run_dir)`` and ``lock``)."""
    from engine.train.predict import predict

    with cache.lock:
        loaded = cache.open(run_dir)
        return predict(loaded, [value], top=TOP, **options)[0]
