"""A trained run on the user's own input: "Try it" in the app and ``layerforge predict``.

One function, :func:`predict`, answers for every kind a run can be tried on, so the
command line and the app give the same answer for the same input. The kinds
(:func:`predict_kind`, table in :mod:`engine.train.predict_facts`) and their inputs:

- image classification, and regression, segmentation and detection on images: image
  files, raw image bytes (a paste) or uint8 drawings [H, W] / [H, W, C], prepared as the
  run's data were (:mod:`engine.train.predict_images`);
- vector classification and regression on rows of numbers: one sequence of floats per
  sample, in the data's column order, normalised with the run's mean/std
  (:mod:`engine.train.predict_values`);
- regression values, segmentation masks and detection boxes are read from the model's
  outputs by :mod:`engine.train.predict_answers`;
- text, seq2seq, sound, speech and language models: texts, WAV files, prompts
  (:mod:`engine.train.predict_lang`).

A run is opened for this with :func:`engine.train.inference.open_model` (its data.json
and weights, no data set needed); one opened with ``open_run`` answers the same.

Importing this module loads no torch: :func:`input_facts` and :func:`predict_kind` let the
app and the command line pick their inputs before a run is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from engine.errors import UserError
from engine.train.predict_facts import KINDS, a_task, input_facts, predict_kind

if TYPE_CHECKING:
    import torch

    from engine.train.inference import LoadedRun

__all__ = ["BATCH", "KINDS", "TOP", "input_facts", "predict", "predict_kind"]

#: how many classes a classifier's answer lists unless told
TOP = 5
#: inputs one forward pass takes
BATCH = 256


def predict(loaded: LoadedRun, inputs: Sequence[Any], *, beam_width: int | None = None,
            top: int = TOP, length: int = 100, temperature: float = 0.0,
            seed: int = 0) -> list[dict[str, Any]]:
    """One answer per input, in order, each with ``"input"`` (a path, "pasted image",
    "drawing", the numbers, the text) and, by kind:

    - classifiers: ``"top"``: [{"class", "probability"}] likeliest first (at most ``top``);
      image ones also ``"image"``: uint8 [C, H, W] as the model saw it before
      normalisation; sound ones ``"clip"``: the float32 samples the model heard;
    - regression: ``"values"`` (floats) and ``"names"`` (the targets', or "y");
    - segmentation: ``"image"``, ``"mask"`` (uint8 [H, W] class ids) and ``"shares"``
      ({class name: fraction of the pixels}, every class);
    - detection: ``"image"`` and ``"boxes"``: [{"class", "score", "box": [x0, y0, x1, y1]}]
      in input pixels, best first, after the task's decoder (its score threshold and NMS);
    - seq2seq, speech, language: ``"output"`` (a language model's: the prompt and its
      continuation of ``length`` tokens at ``temperature``, 0 greedy, with ``seed``).

    ``beam_width`` (seq2seq and speech) None: the task's own. Bad input raises a
    DataError naming it and saying what to do.
    """
    import torch

    from engine.tasks.base import eval_mode

    task_kind = loaded.project.task.kind
    what = predict_kind(task_kind, loaded.bundle.kind)
    if not what:
        raise UserError(f"{loaded.run.path}: {a_task(task_kind)} on "
                        f"{loaded.bundle.kind} data takes no input to try; predictions are "
                        "made for classification, regression, segmentation, detection, "
                        "language model, seq2seq and speech runs")
    if not inputs:
        return []
    beam = int(beam_width or loaded.project.task.beam_width or 1)
    with torch.no_grad(), eval_mode(loaded.task.models):
        if what in ("text", "seq2seq", "sound", "speech", "language"):
            from engine.train import predict_lang as lang

            if what == "language":
                return lang.continued(loaded, [str(i) for i in inputs], length, temperature,
                                      seed)
            if what in ("text", "seq2seq"):
                return lang.texts(loaded, what, [str(i) for i in inputs], beam, top, ranked)
            return lang.clips(loaded, what, inputs, beam, top, ranked)
        if what == "vector" or (what == "regression" and loaded.bundle.kind != "image"):
            from engine.train.predict_values import describe, read_rows

            x, names, images = read_rows(loaded, inputs), [describe(i) for i in inputs], None
        else:
            from engine.train.predict_images import describe, model_input, read_images

            images = read_images(loaded, inputs)
            x, names = model_input(loaded, images), [describe(i) for i in inputs]
        if what in ("image", "vector"):
            answers = ranked(loaded, x, names, top)
        else:
            from engine.train.predict_answers import answers_of

            answers = answers_of(loaded, what, x, names, BATCH)
    if images is not None:
        for answer, image in zip(answers, images, strict=True):
            answer["image"] = image
    return answers


def ranked(loaded: LoadedRun, x: torch.Tensor, names: list[str], top: int) -> list[dict[str, Any]]:
    """The ``top`` likeliest classes of each row of the model input ``x``."""
    task = loaded.task
    classes = list(loaded.bundle.classes or [])
    answers = []
    for start in range(0, x.shape[0], BATCH):
        with task.autocast():
            out = task.forward(x[start:start + BATCH].to(task.device))
        probs = out.float().softmax(-1).cpu()
        values, index = probs.topk(min(top, probs.shape[-1]), dim=-1)
        for n, name in enumerate(names[start:start + BATCH]):
            answers.append({"input": name, "top": [
                {"class": classes[j] if j < len(classes) else f"output {j}", "probability": p}
                for p, j in zip(values[n].tolist(), index[n].tolist(), strict=True)]})
    return answers
