import json
import os

import pytest

from engine.project import (
    SCHEMA_VERSION,
    Graph,
    Node,
    Project,
    ProjectError,
    load_project,
    parse_project,
    save_project,
)


def small_project() -> Project:
    return Project(name="p", graphs={"model": Graph(nodes=[Node(id="x", type="Input")])})


def test_save_then_load_gives_the_same_project(tmp_path):
    p = small_project()
    p.training.lr = 0.05
    path = tmp_path / "a.lforge"
    save_project(p, path)
    assert load_project(path) == p
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


def test_save_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "a.lforge"
    save_project(small_project(), path)
    save_project(small_project(), path)
    assert os.listdir(tmp_path) == ["a.lforge"]


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.lforge"
    save_project(small_project(), path)
    before = path.read_text()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    p = small_project()
    p.name = "changed"
    with pytest.raises(ProjectError, match="cannot write .*a.lforge: the disk is full"):
        save_project(p, path)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["a.lforge"]


def test_newer_schema_is_refused_with_a_clear_message():
    with pytest.raises(ProjectError, match="newer LayerForge"):
        parse_project(json.dumps({"schema_version": SCHEMA_VERSION + 1}), "f.lforge")


def test_version_zero_is_migrated():
    raw = {"schema_version": 0, "graph": {"nodes": [{"id": "x", "type": "Input"}], "edges": []}}
    p = parse_project(json.dumps(raw))
    assert list(p.graphs) == ["model"] and p.graphs["model"].nodes[0].id == "x"


@pytest.mark.parametrize(("text", "needle"), [
    ("{", "not valid JSON"),
    ("[]", "JSON object"),
    ('{"schema_version": "1"}', "schema_version"),
    ('{"schema_version": 1, "graphs": {}}', "graphs"),
    ('{"schema_version": 1, "training": {"lr": -1}}', "training.lr"),
    ('{"schema_version": 1, "training": {"batch_size": "big"}}', "training.batch_size"),
    ('{"schema_version": 1, "surprise": 1}', "surprise"),
    ("[" * 100_000 + "]" * 100_000, "nested deeper"),
])
def test_bad_files_name_the_problem(text, needle):
    with pytest.raises(ProjectError) as e:
        parse_project(text, "bad.lforge")
    assert needle in str(e.value) and "bad.lforge" in str(e.value)


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "nope.lforge")
    (tmp_path / "bin.lforge").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ProjectError, match="not UTF-8"):
        load_project(tmp_path / "bin.lforge")


def test_a_version_3_file_opens_with_the_vision_fields_at_their_defaults():
    raw = {"schema_version": 3, "graphs": {"model": {"nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [2]}}], "edges": []}},
        "dataset": {"source": "builtin", "name": "spirals"}, "task": {"kind": "classification"}}
    p = parse_project(json.dumps(raw))
    assert p.schema_version == SCHEMA_VERSION
    assert (p.dataset.annotations, p.dataset.labels, p.dataset.bad_entries) == ("", "", "stop")
    assert (p.task.ignore_index, p.task.max_detections, p.task.nms_iou) == (255, 100, 0.5)


def test_a_version_4_file_keeps_its_bad_annotations_choice_as_bad_entries():
    raw = {"schema_version": 4, "graphs": {"model": {"nodes": [], "edges": []}},
           "dataset": {"source": "detection", "path": "d", "bad_annotations": "skip"},
           "task": {"kind": "detection"}}
    p = parse_project(json.dumps(raw))
    assert p.schema_version == SCHEMA_VERSION == 7
    assert p.dataset.bad_entries == "skip"
    assert (p.dataset.tokenizer, p.dataset.sample_rate, p.task.beam_width) == ("word", 16000, 1)


def test_a_version_5_file_gets_empty_sweep_settings_and_a_never_swept_file_reads_as_before():
    raw = {"schema_version": 5, "graphs": {"model": {"nodes": [], "edges": []}}}
    p = parse_project(json.dumps(raw))
    assert p.schema_version == SCHEMA_VERSION == 7
    assert (p.sweep.ranges, p.sweep.objectives, p.sweep.trials) == ({}, [], 20)
    assert "sweep" not in json.loads(p.to_json())  # nothing written while nothing is set
    p.sweep.ranges["training.lr"] = "float:1e-4..1e-1:log"
    again = parse_project(p.to_json())
    assert again.sweep.ranges == {"training.lr": "float:1e-4..1e-1:log"}


def test_a_version_6_file_has_no_groupings_and_privacy_off_and_writes_neither_until_set():
    raw = {"schema_version": 6, "graphs": {"model": {"nodes": [], "edges": []}}}
    p = parse_project(json.dumps(raw))
    assert p.schema_version == 7
    assert p.fairness.groupings == [] and p.training.privacy.enabled is False
    written = json.loads(p.to_json())
    assert "fairness" not in written and "privacy" not in written["training"]
    p.training.privacy.enabled = True
    p.fairness.min_group = 50
    again = parse_project(p.to_json())
    assert again.training.privacy.enabled and again.fairness.min_group == 50


def test_a_bad_search_range_in_a_file_names_the_field_and_the_key(tmp_path):
    raw = {"schema_version": 6, "graphs": {"model": {"nodes": [], "edges": []}},
           "sweep": {"ranges": {"training.lr": "float:1..x"}}}
    path = tmp_path / "p.lforge"
    path.write_text(json.dumps(raw))
    with pytest.raises(ProjectError, match=r"p\.lforge: sweep\.ranges: .*training\.lr"):
        load_project(path)
