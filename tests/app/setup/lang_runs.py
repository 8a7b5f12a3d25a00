"""Tiny language and sound projects the evaluation and Try it tests train (each module
trains the ones it needs once, with ``tests.app.setup.conftest._train``): a text
classifier, a keyword spotter and a speech-to-text model on clips espeak-ng speaks, and
the "translator" template on generated dates."""

from __future__ import annotations

from engine.project import DatasetSpec, Project, TaskSpec
from tests.engine.export.helpers import chain


def _project(name: str, graph, dataset: DatasetSpec, epochs: int, **fields) -> Project:
    p = Project(name=name, graphs={"model": graph}, dataset=dataset, **fields)
    p.training = p.training.model_copy(update={"epochs": epochs, "threads": 1})
    return p


def text_project() -> Project:
    """Embedding -> mean over the sequence -> Linear on 400 generated reviews."""
    g = chain({"shape": [32], "dtype": "long", "vocab": 0},
              [("embed", "Embedding", {"embedding_dim": 16, "padding": True}),
               ("pool", "SequencePool", {"mode": "mean"}),
               ("fc", "Linear", {"out_features": 2})])
    data = DatasetSpec(source="builtin", name="sentiment", samples=400, seq_len=32)
    return _project("sentiment", g, data, epochs=2)


def sound_project() -> Project:
    """Log-mel -> Linear on 96 spoken keywords at 8 kHz (espeak-ng)."""
    g = chain({"shape": [1, 8000], "dtype": "float", "vocab": 0},
              [("mel", "LogMel", {"n_mels": 20}), ("flat", "Flatten", {}),
               ("fc", "Linear", {"out_features": 8})])
    data = DatasetSpec(source="builtin", name="keywords", samples=96, sample_rate=8000)
    return _project("keywords", g, data, epochs=2)


def speech_project() -> Project:
    """Log-mel -> frames x mels -> bidirectional GRU -> Linear per frame (CTC), on 60
    spoken digit strings at 8 kHz (espeak-ng), one epoch: a poor model, a real run."""
    g = chain({"shape": [1, 16000], "dtype": "float", "vocab": 0},
              [("mel", "LogMel", {"n_mels": 20, "hop_length": 160}),
               ("flat", "Reshape", {"shape": [20, -1]}),
               ("perm", "Permute", {"dims": [1, 0]}),
               ("gru", "GRU", {"hidden_size": 32, "bidirectional": True}),
               ("fc", "Linear", {"out_features": 16, "per_position": True})])
    data = DatasetSpec(source="builtin", name="spoken_digits", samples=60, sample_rate=8000,
                       clip_seconds=2.0)
    return _project("speech", g, data, epochs=1, task=TaskSpec(kind="speech"))


def translator_project() -> Project:
    """The "translator" template on 200 generated dates, one epoch."""
    from engine.templates import load_template

    p = load_template("translator")
    p.dataset = p.dataset.model_copy(update={"samples": 200})
    p.training = p.training.model_copy(update={"epochs": 1, "threads": 1})
    return p
