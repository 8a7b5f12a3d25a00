"""A trained language or sound model on the user's own input: typed texts or WAV files.

One function, :func:`predict`, answers for every kind it covers, so ``layerforge predict``
and the app's "Try" boxes give the same answer for the same input:

- text classification: texts -> the ``top`` likeliest classes with their probabilities;
- sequence to sequence: texts -> the output text (greedy, or beam search);
- sound classification (keyword spotting): WAV files -> the ``top`` likeliest classes;
- speech to text: WAV files -> the transcript.

The input is read as the run's data was: texts with the tokenizer the run trained with
(:func:`engine.train.inference.open_run` loads it), clips at the data's sample rate and
length (centred for a classifier; from the start for speech, where a longer clip is
refused rather than cut: a transcript of half the words would mislead).

Importing this module loads no torch (the command line checks its options with
:func:`predict_kind` before it loads a run, and the app picks its views with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import UserError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from engine.train.inference import LoadedRun

#: the kinds :func:`predict` covers, as :func:`predict_kind` names them
KINDS = ("text", "seq2seq", "sound", "speech")
#: how many classes a classifier's answer lists unless told
TOP = 5
#: inputs one forward pass of a classifier takes
BATCH = 256


def predict_kind(task_kind: str, data_kind: str) -> str:
    """"text", "seq2seq", "sound", "speech", or "" for runs :func:`predict` does not
    cover, from the task kind and the data's kind ("tokens", "audio", ...)."""
    if task_kind in ("seq2seq", "speech"):
        return task_kind
    if task_kind == "classification":
        return {"tokens": "text", "audio": "sound"}.get(data_kind, "")
    return ""


def read_wave(path: str | Path, rate: int, length: int, where: str = "center") -> np.ndarray:
    """The clip at ``path`` as a model of ``length`` samples at ``rate`` Hz takes it:
    float32 mono, padded or cut in the ``where`` ("center") or padded at the end
    (``"end"``, speech: a longer clip raises a DataError saying so)."""
    from engine.data import DataError
    from engine.data.audio.wav import ClipError, fit_length, read_clip

    try:
        clip = read_clip(path, rate)
    except ClipError as e:
        raise DataError(f"{path}: {e}") from None
    if where == "end" and clip.shape[0] > length:
        raise DataError(f"{path}: is {clip.shape[0] / rate:.2f} s long, but the model reads "
                        f"at most {length / rate:.2f} s; choose a shorter clip or cut it")
    return fit_length(clip, length, where)


def predict(loaded: LoadedRun, inputs: Sequence[str | Path], *, beam_width: int | None = None,
            top: int = TOP) -> list[dict[str, Any]]:
    """One answer per input, in order: ``{"input", "top": [{"class", "probability"}]}``
    (likeliest first) for the classifiers, ``{"input", "output"}`` for seq2seq and speech.
    Texts for text runs, WAV file paths for sound runs; the answers of sound runs also
    hold ``"clip"``: the float32 samples the model heard. ``beam_width`` (seq2seq and
    speech) None: the task's own."""
    import numpy as np
    import torch

    from engine.tasks.base import eval_mode

    task, bundle = loaded.task, loaded.bundle
    what = predict_kind(loaded.project.task.kind, bundle.kind)
    if not what:
        raise UserError(f"{loaded.run.path}: predictions are made for text, seq2seq, sound and "
                        f"speech runs; this {loaded.project.task.kind} run reads "
                        f"{bundle.kind} data")
    beam = int(beam_width or loaded.project.task.beam_width or 1)
    names = [str(i) for i in inputs]
    if not names:
        return []
    with torch.no_grad(), eval_mode(task.models):
        if what == "seq2seq":
            outputs = task.translate(names, beam)
            return [{"input": i, "output": o} for i, o in zip(names, outputs, strict=True)]
        if what == "text":
            if bundle.tokenizer is None:
                raise UserError("this run's data has no tokenizer, so typed text cannot be read")
            x = bundle.tokenizer.encode_batch(names, int(bundle.input_shape[-1]))
            return _top(loaded, x, names, top)
        where = "end" if what == "speech" else "center"
        rate, length = int(bundle.sample_rate or 16000), int(bundle.input_shape[-1])
        clips = [read_wave(i, rate, length, where) for i in inputs]
        x = torch.from_numpy(np.stack(clips)[:, None, :])
        if what == "speech":
            outputs = task.transcribe(x.to(task.device), beam)
            answers = [{"input": i, "output": o} for i, o in zip(names, outputs, strict=True)]
        else:
            answers = _top(loaded, x, names, top)
    for answer, clip in zip(answers, clips, strict=True):
        answer["clip"] = clip
    return answers


def _top(loaded: LoadedRun, x: torch.Tensor, names: list[str], top: int) -> list[dict[str, Any]]:
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
