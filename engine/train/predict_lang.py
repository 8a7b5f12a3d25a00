"""Language and sound runs on the user's own input (see :mod:`engine.train.predict`).

- text classification: texts, tokenized with the tokenizer the run trained with;
- sequence to sequence: texts -> the output text (greedy, or beam search);
- sound classification (keyword spotting): WAV files at the data's rate and length,
  centred; speech to text: from the start, where a longer clip is refused rather than cut
  (a transcript of half the words would mislead);
- language model: a prompt continued by the task's own generation (length, temperature,
  seed: the same seed gives the same text).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from engine.data import DataError
from engine.errors import UserError

if TYPE_CHECKING:
    from engine.train.inference import LoadedRun

Top = Callable[["LoadedRun", torch.Tensor, list[str], int], list[dict[str, Any]]]


def read_wave(path: str | Path, rate: int, length: int, where: str = "center") -> np.ndarray:
    """The clip at ``path`` as a model of ``length`` samples at ``rate`` Hz takes it:
    float32 mono, padded or cut in the ``where`` ("center") or padded at the end
    (``"end"``, speech: a longer clip raises a DataError saying so)."""
    from engine.data.audio.wav import ClipError, fit_length, read_clip

    try:
        clip = read_clip(path, rate)
    except ClipError as e:
        raise DataError(f"{path}: {e}") from None
    if where == "end" and clip.shape[0] > length:
        raise DataError(f"{path}: is {clip.shape[0] / rate:.2f} s long, but the model reads "
                        f"at most {length / rate:.2f} s; choose a shorter clip or cut it")
    return fit_length(clip, length, where)


def texts(loaded: LoadedRun, what: str, names: list[str], beam: int, top: int,
          ranked: Top) -> list[dict[str, Any]]:
    """Text classification ("text") or translation ("seq2seq") of typed texts."""
    task, bundle = loaded.task, loaded.bundle
    if what == "seq2seq":
        outputs = task.translate(names, beam)  # type: ignore[attr-defined]
        return [{"input": i, "output": o} for i, o in zip(names, outputs, strict=True)]
    if bundle.tokenizer is None:
        raise UserError("this run's data has no tokenizer, so typed text cannot be read")
    x = bundle.tokenizer.encode_batch(names, int(bundle.input_shape[-1]))
    return ranked(loaded, x, names, top)


def clips(loaded: LoadedRun, what: str, inputs: Sequence[Any], beam: int, top: int,
          ranked: Top) -> list[dict[str, Any]]:
    """Sound classification ("sound") or speech to text ("speech") of WAV files; each
    answer holds ``"clip"``: the float32 samples the model heard."""
    task, bundle = loaded.task, loaded.bundle
    names = [str(i) for i in inputs]
    where = "end" if what == "speech" else "center"
    rate, length = int(bundle.sample_rate or 16000), int(bundle.input_shape[-1])
    waves = [read_wave(i, rate, length, where) for i in inputs]
    x = torch.from_numpy(np.stack(waves)[:, None, :])
    if what == "speech":
        outputs = task.transcribe(x.to(task.device), beam)  # type: ignore[attr-defined]
        answers = [{"input": i, "output": o} for i, o in zip(names, outputs, strict=True)]
    else:
        answers = ranked(loaded, x, names, top)
    for answer, clip in zip(answers, waves, strict=True):
        answer["clip"] = clip
    return answers


def continued(loaded: LoadedRun, prompts: list[str], length: int, temperature: float,
              seed: int) -> list[dict[str, Any]]:
    """Each prompt continued by ``length`` tokens of the language model (greedy at
    temperature 0); a character the model never saw is a DataError naming it."""
    task = loaded.task
    answers = []
    for prompt in prompts:
        try:
            output = task.generate(prompt, length, temperature, 0, seed)  # type: ignore[attr-defined]
        except DataError as e:
            raise DataError(f"the prompt {prompt[:40]!r} cannot be read: {e}") from None
        answers.append({"input": prompt, "output": output})
    return answers
