"""What the evaluation panel shows of the language and speech tasks, computed from a loaded
run: the texts and clips behind a classification's samples, the decoded samples of a
sequence-to-sequence or speech run, a split decoded again with another beam width, and
one sample's CER. (A user's own text or clip is answered by the Try it tab,
:mod:`app.panels.try_results`.)

Like :mod:`app.panels.run_results`, nothing here touches a widget: the panel runs these
functions on its background jobs and gets plain values (lists, numpy arrays).
"""

from __future__ import annotations

import math
from typing import Any

from engine.train.predict import predict_kind

#: samples of audio a classification evaluation keeps to draw and play (about 64 MB)
AUDIO_SAMPLES = 16_000_000


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
    return ev


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


def sample_cer(sample: dict[str, str]) -> float:
    """The character error rate of one decoded sample (jiwer): 0 for a right transcript,
    NaN without a reference to compare with."""
    import jiwer

    ref, out = str(sample.get("reference", "")), str(sample.get("output", ""))
    if not ref:
        return 0.0 if not out else math.nan
    return float(jiwer.cer(ref, out))
