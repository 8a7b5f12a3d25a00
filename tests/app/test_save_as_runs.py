"""Save As carries the project's runs along, names an untitled project after its file, and
opening a project finds run folders that are not where it recorded them (issue 14)."""

from __future__ import annotations

import threading
from pathlib import Path

from app.runs.records import add_run_ref, new_run_dir, resolve_ref
from engine.project import load_project, save_project
from engine.train import runlock
from tests.app.conftest import chain_project, write_chain
from tests.app.runfolders import write_run


def unsaved_run(ws) -> Path:
    """A finished run of the window's unsaved project, where such runs go (the per-user
    runs folder), recorded in the project as Train records it."""
    folder = write_run(new_run_dir(ws.document), ws.document.project)
    add_run_ref(ws.document, folder)
    ws.training.refresh_runs()
    return folder


def test_save_as_moves_an_unsaved_projects_runs_beside_the_file(ws, tmp_path, config_dir):
    run = unsaved_run(ws)
    assert run.parent == config_dir / "runs"
    target = tmp_path / "project" / "net.lforge"
    target.parent.mkdir()
    assert ws.files.save_to_new(str(target))
    moved = target.parent / "runs" / run.name
    assert moved.is_dir() and not run.exists()
    assert [r.path for r in load_project(target).runs] == [f"runs/{run.name}"]
    assert ws.training.runs.run_dirs() == [str(moved)]
    assert ws.training.runs.status_of(str(moved)) == "finished"
    assert f"Moved 1 run to {target.parent / 'runs'}" in ws.window.statusBar().currentMessage()


def test_runs_moved_by_save_as_are_there_after_reopening(ws, tmp_path):
    run = unsaved_run(ws)
    target = tmp_path / "net.lforge"
    assert ws.files.save_to_new(str(target))
    ws.document.replace_project(chain_project())  # another project, then this one again
    assert ws.files.open_path(str(target), confirm=False)
    moved = str(tmp_path / "runs" / run.name)
    assert ws.training.runs.run_dirs() == [moved]
    assert ws.training.runs.status_of(moved) == "finished"
    from app.dialogs.export import ExportDialog

    dialog = ExportDialog(ws.document, ws.window)  # Export offers the run as a source
    sources = [dialog.source.itemData(i) for i in range(dialog.source.count())]
    dialog.deleteLater()
    assert moved in sources


def test_save_as_elsewhere_copies_the_runs_and_keeps_the_old_project_whole(ws, tmp_path):
    (tmp_path / "a").mkdir()
    old = write_chain(tmp_path / "a" / "net.lforge")
    run = write_run(tmp_path / "a" / "runs" / "net-1", load_project(old))
    assert ws.files.open_path(str(old), confirm=False)
    add_run_ref(ws.document, run)
    assert ws.files.save()
    new = tmp_path / "b" / "copy.lforge"
    new.parent.mkdir()
    assert ws.files.save_to_new(str(new))
    assert (new.parent / "runs" / "net-1" / "events.jsonl").is_file()
    assert run.is_dir()  # the old project keeps its run
    assert [r.path for r in load_project(old).runs] == ["runs/net-1"]
    assert [r.path for r in load_project(new).runs] == ["runs/net-1"]
    assert "Copied 1 run" in ws.window.statusBar().currentMessage()


def test_save_as_leaves_the_run_being_trained_where_it_is(ws, tmp_path):
    run = unsaved_run(ws)
    ws.files.live_runs = lambda: [str(run)]  # as the workspace wires it to the training
    target = tmp_path / "net.lforge"
    assert ws.files.save_to_new(str(target))
    assert run.is_dir() and not (tmp_path / "runs" / run.name).exists()
    [ref] = load_project(target).runs
    assert Path(ref.path) == run.resolve()  # recorded where it is, by its absolute path
    assert f"{run.name} stays in" in ws.window.statusBar().currentMessage()


def test_save_as_does_not_move_a_run_folder_a_writer_holds(ws, tmp_path):
    run = unsaved_run(ws)
    held, done = threading.Event(), threading.Event()

    def writer() -> None:  # a training process's lock, held from another thread
        with runlock.hold_run(run):
            held.set()
            done.wait(30)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert held.wait(10)
        assert ws.files.save_to_new(str(tmp_path / "net.lforge"))
    finally:
        done.set()
        t.join()
    assert (run / "events.jsonl").is_file()
    assert Path(ws.document.project.runs[0].path) == run.resolve()


def test_a_save_as_that_cannot_write_the_file_puts_the_runs_back(ws, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    from tests.app.helpers import answer_next_dialog

    run = unsaved_run(ws)
    before = list(ws.document.project.runs)
    blocked = tmp_path / "net.lforge"
    blocked.mkdir()  # a folder where the file should go: the save fails
    seen: list = []
    timer = answer_next_dialog(
        lambda box: box.button(QMessageBox.StandardButton.Ok).click(), seen)
    assert not ws.files.save_to_new(str(blocked))
    timer.stop()
    assert seen and "Cannot save" in seen[0].windowTitle()
    assert (run / "events.jsonl").is_file() and not (tmp_path / "runs" / run.name).exists()
    assert ws.document.project.runs == before and ws.document.path is None
    assert ws.document.project.name == "chain"


def test_save_as_names_an_untitled_project_and_its_model_card_after_the_file(ws, tmp_path):
    ws.document.replace_project(chain_project().model_copy(update={"name": "untitled"}))
    run = unsaved_run(ws)
    target = tmp_path / "digits.lforge"
    assert ws.files.save_to_new(str(target))
    assert ws.document.project.name == "digits"
    assert load_project(target).name == "digits"
    # the run trained before the save belongs to the named project too
    assert load_project(tmp_path / "runs" / run.name / "project.lforge").name == "digits"
    from engine.export import export

    export(str(target), "safetensors", tmp_path / "out")
    assert (tmp_path / "out" / "README.md").read_text(encoding="utf-8").startswith(
        "# digits: graph")


def test_save_as_keeps_a_name_the_project_was_given(ws, tmp_path):
    project = chain_project()
    project.name = "Edge detector"
    save_project(project, tmp_path / "a.lforge")
    assert ws.files.open_path(str(tmp_path / "a.lforge"), confirm=False)
    assert ws.files.save_to_new(str(tmp_path / "b.lforge"))
    assert load_project(tmp_path / "b.lforge").name == "Edge detector"


def test_a_model_card_of_an_old_untitled_project_file_is_titled_by_the_file(tmp_path):
    from engine.export import export

    project = chain_project()
    project.name = "untitled"  # saved by a version that kept the default name
    save_project(project, tmp_path / "shapes.lforge")
    export(str(tmp_path / "shapes.lforge"), "safetensors", tmp_path / "out")
    assert (tmp_path / "out" / "README.md").read_text(encoding="utf-8").startswith(
        "# shapes: graph")


def test_opening_finds_runs_left_in_the_per_user_folder_and_names_missing_ones(
        ws, tmp_path, config_dir):
    # A project saved by a version that did not carry its runs: they still sit in the
    # per-user folder while the file records them as runs/<id> beside it.
    stray = write_run(config_dir / "runs" / "untitled-20260101-101010", chain_project())
    project = chain_project()
    project.runs = [
        add_ref("untitled-20260101-101010"), add_ref("untitled-20260101-111111")]
    save_project(project, tmp_path / "net.lforge")
    assert ws.files.open_path(str(tmp_path / "net.lforge"), confirm=False)
    found = resolve_ref(ws.document, ws.document.project.runs[0])
    assert found == stray
    assert ws.training.runs.status_of(str(stray)) == "finished"
    gone = str(tmp_path / "runs" / "untitled-20260101-111111")
    assert ws.training.runs.status_of(gone) == "missing"
    message = ws.window.statusBar().currentMessage()
    assert f"found in {config_dir / 'runs'}" in message
    assert f"expected at {gone}" in message
    assert not ws.document.is_dirty()  # finding a run is no edit


def add_ref(run_id: str):
    from engine.project import RunRef

    return RunRef(id=run_id, path=f"runs/{run_id}")
