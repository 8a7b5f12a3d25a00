"""Files: save and reload, title, bad files, ask-to-save, recent files, autosave, templates."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QUrl
from PySide6.QtWidgets import QMessageBox

from app.settings import open_settings
from engine.project import load_project
from tests.app.conftest import write_chain
from tests.app.helpers import answer_next_dialog, drop


def click(button):
    def act(box):
        box.button(button).click()
    return act


def test_save_and_reload_round_trips_the_project(ws, tmp_path):
    ws.document.set_param("model", "fc1", "out_features", 48)
    path = tmp_path / "net.lforge"
    assert ws.files._save_to(str(path))
    saved = ws.document.to_json()
    ws.document.set_param("model", "fc1", "out_features", 5)
    ws.files.open_path(str(path), confirm=False)
    assert ws.document.to_json() == saved
    assert load_project(path).graphs["model"].node("fc1").params["out_features"] == 48


def test_title_shows_the_file_name_and_a_dirty_marker(ws, tmp_path):
    path = write_chain(tmp_path / "net.lforge")
    ws.files.open_path(str(path), confirm=False)
    assert ws.window.windowTitle() == "net.lforge — LayerForge"
    ws.document.set_param("model", "fc1", "out_features", 5)
    assert ws.window.windowTitle() == "net.lforge* — LayerForge"
    ws.document.undo()
    assert ws.window.windowTitle() == "net.lforge — LayerForge"


def test_opening_a_bad_file_shows_the_reason_in_a_dialog(ws, tmp_path):
    bad = tmp_path / "bad.lforge"
    bad.write_text('{"schema_version": 99, "graphs": {}}')
    before = ws.document.to_json()
    seen = []
    timer = answer_next_dialog(click(QMessageBox.StandardButton.Ok), seen)
    assert not ws.files.open_path(str(bad), confirm=False)
    timer.stop()
    assert isinstance(seen[0], QMessageBox)
    assert "newer LayerForge" in seen[0].text() and "Traceback" not in seen[0].text()
    assert ws.document.to_json() == before


def test_closing_with_unsaved_changes_can_be_cancelled(ws):
    ws.document.set_param("model", "fc1", "out_features", 5)
    seen = []
    timer = answer_next_dialog(click(QMessageBox.StandardButton.Cancel), seen)
    ws.window.close()
    timer.stop()
    assert seen and ws.window.isVisible()
    assert ws.document.is_dirty()


def test_closing_and_discarding_closes_without_saving(ws, tmp_path):
    path = write_chain(tmp_path / "net.lforge")
    ws.files.open_path(str(path), confirm=False)
    ws.document.set_param("model", "fc1", "out_features", 5)
    timer = answer_next_dialog(click(QMessageBox.StandardButton.Discard), [])
    ws.window.close()
    timer.stop()
    assert not ws.window.isVisible()
    assert load_project(path).graphs["model"].node("fc1").params["out_features"] == 32


def test_opened_and_saved_files_are_recent_files_in_the_isolated_settings(ws, tmp_path, config_dir):
    a = write_chain(tmp_path / "a.lforge")
    ws.files.open_path(str(a), confirm=False)
    ws.files._save_to(str(tmp_path / "b.lforge"))
    assert ws.files.recent.paths() == [str(tmp_path / "b.lforge"), str(a)]
    assert (config_dir / "layerforge.ini").is_file()
    assert open_settings().value("recent_files") is not None


def test_autosave_writes_a_recovery_file_and_saving_removes_it(ws, tmp_path, qtbot):
    ws.autosave.timer.setInterval(200)
    path = write_chain(tmp_path / "net.lforge")
    ws.files.open_path(str(path), confirm=False)
    ws.document.set_param("model", "fc1", "out_features", 5)
    recovery = ws.autosave.store.file_for(ws.document.path)
    qtbot.waitUntil(recovery.is_file, timeout=3000)
    assert '"out_features": 5' in recovery.read_text()
    ws.files.save()
    assert not recovery.exists()


def test_new_project_from_the_template_gallery(ws):
    from app.window.gallery import TemplateGalleryDialog

    def pick_lenet(dialog):
        assert isinstance(dialog, TemplateGalleryDialog)
        dialog.select("lenet5")
        dialog.accept()

    timer = answer_next_dialog(pick_lenet, [])
    assert ws.files.new_project()
    timer.stop()
    assert ws.document.path is None
    types = [n.type for n in ws.document.graph("model").nodes]
    assert "Conv2d" in types and types[0] == "Input"
    assert ws.tabs.current_scene().nodes


def test_the_gallery_describes_each_template(qapp):
    from app.window.gallery import gallery_entries

    entries = {info.name: (info, problem) for info, problem in gallery_entries()}
    info, problem = entries["dcgan"]
    assert not problem and info.graphs == 2 and info.blocks > 10 and info.description


def test_dropping_a_project_file_on_the_window_opens_it(ws, tmp_path, qtbot):
    path = write_chain(tmp_path / "dropped.lforge", hidden=9)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    entered, dropped = drop(ws.window, mime, QPoint(20, 20))
    assert entered and dropped
    qtbot.waitUntil(lambda: ws.document.path == str(Path(path).resolve()))
    assert ws.document.node("model", "fc1").params["out_features"] == 9


def test_a_graph_laid_on_one_spot_is_laid_out_on_open(ws, tmp_path):
    from engine.project import save_project
    from tests.app.conftest import chain_project

    project = chain_project()
    for n in project.graphs["model"].nodes:
        n.position = (0.0, 0.0)
    save_project(project, tmp_path / "flat.lforge")
    ws.files.open_path(str(tmp_path / "flat.lforge"), confirm=False)
    xs = [n.position[0] for n in ws.document.graph("model").nodes]
    assert len(set(xs)) == len(xs)
