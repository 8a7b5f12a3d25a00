"""Exports of sound runs: the sample rate in the metadata and the card, and the check that
runs clips read from a .npy file in a fresh process (a stand-in run, no training)."""

from __future__ import annotations

import json

import onnx

from engine.export import export
from engine.export.text import META_SAMPLE_RATE
from engine.project import DatasetSpec, Project
from tests.engine.export.helpers import chain
from tests.engine.export.test_export_text import _write_run

RATE, LENGTH = 8000, 800


def sound_run(folder):
    graph = chain({"shape": [1, LENGTH]},
                  [("flat", "Flatten", {}), ("hidden", "Linear", {"out_features": 16}),
                   ("act", "ReLU", {}), ("head", "Linear", {"out_features": 3})])
    project = Project(name="keywords", graphs={"model": graph},
                      dataset=DatasetSpec(source="audio", path=str(folder.parent / "gone")))
    data = {"version": 1, "source": "audio:gone", "kind": "audio", "input_shape": [1, LENGTH],
            "input_dtype": "float", "target": "class", "normalize_axis": "feature",
            "mean": None, "std": None, "classes": ["go", "no", "yes"], "vocab": None,
            "sample_rate": RATE}
    return _write_run(folder, project, data)


def test_sound_onnx_records_the_rate_and_runs_clips_in_a_fresh_process(tmp_path):
    run = sound_run(tmp_path / "run")
    report = export(run, "onnx", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["README.md", "model.onnx"]
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "out" / "model.onnx")).metadata_props}
    assert meta[META_SAMPLE_RATE] == str(RATE)
    assert json.loads(meta["layerforge.classes"]) == ["go", "no", "yes"]
    assert any(".npy file in a fresh process" in c for c in report.checks), report.checks
    card = (tmp_path / "out" / "README.md").read_text()
    assert f"{RATE} Hz" in card and "resample_poly" in card
