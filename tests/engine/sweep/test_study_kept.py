"""Save As and a sweep's study: what the new file must name to keep it
(engine.sweep.config.study_kept)."""

from __future__ import annotations

from engine.project import SweepSpec
from engine.sweep.config import study_kept
from engine.templates import load_template


def _study(folder, name="first"):
    (folder / "runs" / "sweeps").mkdir(parents=True)
    (folder / "runs" / "sweeps" / f"{name}.db").write_bytes(b"")
    return folder / f"{name}.lforge"


def test_a_study_beside_the_old_file_is_pinned_by_name_and_url(tmp_path):
    old = _study(tmp_path / "a")
    name, url = study_kept(load_template("mlp"), old, tmp_path / "b" / "second.lforge")
    assert name == "first"
    assert url == f"sqlite:///{(tmp_path / 'a' / 'runs' / 'sweeps' / 'first.db').resolve()}"


def test_nothing_is_pinned_when_nothing_would_be_lost(tmp_path):
    project = load_template("mlp")
    old = _study(tmp_path / "a")
    # the same runs folder and the same name: the new file finds the study itself
    assert study_kept(project, old, tmp_path / "a" / "first.lforge") is None
    # no study yet
    assert study_kept(project, tmp_path / "none" / "x.lforge", tmp_path / "b.lforge") is None
    # the study is named in the project, and its database too
    project.sweep = SweepSpec(storage="postgresql+psycopg://db/sweeps", name="shared")
    assert study_kept(project, old, tmp_path / "b" / "second.lforge") is None


def test_a_named_study_moves_nowhere_when_its_name_is_kept(tmp_path):
    project = load_template("mlp")
    project.sweep = SweepSpec(name="wide")
    old = _study(tmp_path / "a", "wide").with_name("first.lforge")
    # another folder: the study named "wide" would be looked for beside the new file
    assert study_kept(project, old, tmp_path / "b" / "x.lforge")[0] == "wide"
