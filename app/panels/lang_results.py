"""What the evaluation panel shows of the language and speech tasks, computed from a loaded
run: the texts and clips behind a classification's samples, the decoded samples of a
sequence-to-sequence or speech run, and the "Try" answers (typed text, a chosen WAV), which
are :func:`engine.train.predict.predict`'s, as ``layerforge predict`` gives them.

Like :mod:`app.panels.run_results`, nothing here touches a widget: the panel runs these
functions on its background jobs and gets plain values (lists, numpy arrays). Every
function that uses the loaded run holds ``RunCache.lock``, so a Try answered while the
split is being evaluated waits for it instead of loading the run a second time.
"""

from __future__ import annotations

import math
from typing import Any

from engine.train.predict import predict, predict_kind

#: the "Try" answers of a classifier: this many likeliest classes
TOP = 5
#: samples of audio a classification evaluation keeps to draw and play (about 64 MB)
AUDIO_SAMPLES = 16_000_000
#: the views of the language and speech tasks (``view_of``): one per kind predict covers


def view_of(kind: str, input_kind: str) -> str:
    """Which view shows an evaluation: "text" or "sound" for a classifier of token ids or
    of waveforms, "seq2seq", "speech", or "" (the other tasks' views)."""
    return predict_kind(kind, input_kind)


def clip_limit(length: int) -> int:
    """How many clips of ``length`` samples an evaluation keeps."""
    return max(1, AUDIO_SAMPLES // max(int(length), 1))


def fill(loaded: Any, data: Any, ev: Any) -> Any:
    """Add what the text, sound, seq2seq and speech views need to ``ev`` (an
    :class:`app.panels.run_results.Evaluation` whose metrics are computed): the original
    texts of a text classifier's split, the clips of a sound one, the decoded samples (and
    for speech their clips) of the others."""
    b = loaded.bundle
    ev.input_kind = b.kind
    ev.sample_rate = int(getattr(b, "sample_rate", None) or 0)
    ev.beam_width = int(ev.metrics.get("beam_width") or loaded.project.task.beam_width or 1)
    texts = getattr(b, "texts", None) or {}
    if ev.kind == "classification" and b.kind == "tokens":
        ev.texts = [str(t) for t in texts.get(ev.split) or []]
    elif b.kind == "audio":
        n = len(ev.metrics.get("samples") or []) if ev.kind == "speech" else len(data)
        x = data.x[: min(n, clip_limit(data.x.shape[-1]))]
        ev.clips = [row.reshape(-1) for row in x.float().cpu().numpy()]
    if ev.kind in ("seq2seq", "speech"):
        ev.samples = [dict(s) for s in ev.metrics.get("samples") or []]
        ev.split_size = len(data)
        _warm(loaded, ev)
    return ev


def _warm(loaded: Any, ev: Any) -> None:
    """Decode one sample, so that the first Try answers as fast as the next ones (the
    first decoding in a process pays for torch's lazy set-up, seconds on a busy CPU)."""
    import torch

    task = loaded.task
    with torch.no_grad():
        if ev.kind == "seq2seq" and ev.samples:
            task.translate([str(ev.samples[0].get("source", ""))], 1)
        elif ev.kind == "speech" and ev.clips:
            task.transcribe(torch.as_tensor(ev.clips[0]).reshape(1, 1, -1), 1)


def saved_metrics(loaded: Any, split: str) -> dict[str, Any] | None:
    """The run's own evaluation of ``split`` from evaluation.json when it has the decoded
    samples and is not older than the weights, else None. Decoding a split takes many
    seconds (a beam search per sample), and training just did it with the same weights."""
    import json

    run = loaded.run
    weights = run.weights if run.weights.is_file() else run.checkpoint("last")
    try:
        if run.evaluation.stat().st_mtime < weights.stat().st_mtime:
            return None
        saved = json.loads(run.evaluation.read_text(encoding="utf-8")).get(split)
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(saved, dict) or not isinstance(saved.get("samples"), list):
        return None
    return saved


def evaluate_with_beam(loaded: Any, split: str, beam_width: int | None) -> dict[str, Any]:
    """The engine's metrics of ``split``, decoded with ``beam_width`` (None: the run's
    own, read from evaluation.json when it is there). The project on disk is left as it
    is: only the loaded task decodes wider."""
    import inspect

    from engine.train.inference import evaluate_run

    task = loaded.task
    if not beam_width or beam_width == task.spec.beam_width:
        if task.kind in ("seq2seq", "speech"):
            saved = saved_metrics(loaded, split)
            if saved is not None:
                return saved
        return evaluate_run(loaded, split)
    if "beam_width" in inspect.signature(evaluate_run).parameters:
        return evaluate_run(loaded, split, beam_width=int(beam_width))
    # the tasks decode with their spec's width when evaluate() is not given one
    spec = task.spec
    task.spec = spec.model_copy(update={"beam_width": int(beam_width)})
    try:
        return evaluate_run(loaded, split)
    finally:
        task.spec = spec


# -- Try ---------------------------------------------------------------------------------

def _answer(result: dict[str, Any]) -> Any:
    """What a Try box shows of one :func:`engine.train.predict.predict` answer: the output
    text, or the likeliest classes as (name, probability) pairs."""
    if "top" in result:
        return [(c["class"], c["probability"]) for c in result["top"]]
    return result["output"]


def answer_text(cache: Any, run_dir: str, text: str, beam_width: int = 1) -> Any:
    """Try box of a text run: the top :data:`TOP` classes (text classification) or the
    output text (sequence to sequence, decoded with ``beam_width``)."""
    with cache.lock:
        loaded = cache.open(run_dir)
        return _answer(predict(loaded, [text], beam_width=beam_width, top=TOP)[0])


def answer_wave(cache: Any, run_dir: str, path: str, beam_width: int = 1) -> tuple[Any, Any]:
    """Try box of an audio run: (the top :data:`TOP` classes (sound classification) or the
    transcript (speech), the clip as the model heard it: a float32 numpy array). A file
    that cannot be read, or too long a speech clip, raises DataError saying so."""
    with cache.lock:
        loaded = cache.open(run_dir)
        result = predict(loaded, [path], beam_width=beam_width, top=TOP)[0]
        return _answer(result), result["clip"]


def sample_cer(sample: dict[str, str]) -> float:
    """The character error rate of one decoded sample (jiwer): 0 for a right transcript,
    NaN without a reference to compare with."""
    import jiwer

    ref, out = str(sample.get("reference", "")), str(sample.get("output", ""))
    if not ref:
        return 0.0 if not out else math.nan
    return float(jiwer.cer(ref, out))
