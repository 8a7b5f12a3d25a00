"""Hand-made text, sound, sequence-to-sequence and speech evaluations, with the outcomes a
user should see worked out by hand (the panel tests and the screenshot script use them)."""

from __future__ import annotations

import numpy as np

from app.panels.run_results import Evaluation

SENTIMENT = ["negative", "positive"]
KEYWORDS = ["down", "go", "left", "no"]
RATE = 8000
LONG = ("this blender is not bad at all, although the lid rattles a little and the "
        "manual is written in a language nobody in the house can read " * 3).strip()


def text_evaluation() -> Evaluation:
    """Five reviews; 1 and 3 are wrong (3 the more confident), so the list is 3, 1."""
    texts = ["great phone", LONG, "awful battery", "not bad", "very good screen"]
    cm = [[1, 1], [1, 2]]
    metrics = {"loss": 0.5, "accuracy": 0.6, "precision": 0.58, "recall": 0.58, "f1": 0.58,
               "precision_per_class": [0.5, 0.67], "recall_per_class": [0.5, 0.67],
               "f1_per_class": [0.5, 0.67], "confusion_matrix": cm, "classes": SENTIMENT}
    return Evaluation("run-text", "val", "classification", metrics, classes=list(SENTIMENT),
                      true=[1, 1, 0, 0, 1], pred=[1, 0, 0, 1, 1],
                      confidence=[0.9, 0.6, 0.8, 0.95, 0.7], texts=texts,
                      describe="sentiment", input_kind="tokens")


def tone(freq: float, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(RATE * seconds), dtype=np.float32) / RATE
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def sound_evaluation() -> Evaluation:
    """Four clips (tones of 200, 400, 800, 1600 Hz); 0 and 2 are wrong, 2 the more
    confident, so the list is 2, 0."""
    cm = [[0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1]]
    metrics = {"loss": 1.0, "accuracy": 0.5, "precision": 0.4, "recall": 0.5, "f1": 0.4,
               "precision_per_class": [0, 0.5, 0, 0.5], "recall_per_class": [0, 1, 0, 1],
               "f1_per_class": [0, 0.67, 0, 0.67], "confusion_matrix": cm,
               "classes": KEYWORDS}
    return Evaluation("run-sound", "val", "classification", metrics, classes=list(KEYWORDS),
                      true=[0, 1, 2, 3], pred=[1, 1, 3, 3], confidence=[0.5, 0.9, 0.7, 0.8],
                      clips=[tone(f) for f in (200, 400, 800, 1600)], sample_rate=RATE,
                      describe="keywords", input_kind="audio")


def seq2seq_evaluation(beam: int | None = None) -> Evaluation:
    """Three dates; the second is wrong, so it is listed first."""
    samples = [{"source": "3 March 2021", "reference": "2021-03-03", "output": "2021-03-03"},
               {"source": "Wed 4 Mar 21", "reference": "2021-03-04", "output": "2021-03-14"},
               {"source": LONG, "reference": "1999-12-31", "output": "1999-12-31"}]
    metrics = {"loss": 0.2, "token_accuracy": 0.97, "exact_match": 2 / 3, "bleu": 81.5,
               "chrf": 93.2, "rouge1": 0.9, "rouge2": 0.8, "rougeL": 0.9, "samples": samples,
               "beam_width": beam or 1}
    return Evaluation("run-s2s", "val", "seq2seq", metrics, samples=samples,
                      beam_width=beam or 1, beam=beam, split_size=600, describe="dates",
                      input_kind="tokens")


def speech_evaluation() -> Evaluation:
    """Two clips; the second's output misses a word (CER 4/9)."""
    samples = [{"reference": "three one", "output": "three one"},
               {"reference": "seven two", "output": "seven"}]
    metrics = {"loss": 0.4, "cer": 0.2, "wer": 0.25, "samples": samples, "beam_width": 1}
    return Evaluation("run-speech", "val", "speech", metrics, samples=samples,
                      clips=[tone(300, 1.0), tone(600, 1.0)], sample_rate=RATE, beam_width=1,
                      split_size=400, describe="spoken digits", input_kind="audio")
