"""The welcome page: when it shows, the template gallery, recent projects, and training an
example with one click."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtTest import QTest

from app.document import GraphDocument
from app.window.features.welcome import SHOW_KEY
from app.window.recovery import RecoveryStore
from engine.project import Project, load_project
from engine.templates import list_templates, load_template, template_path
from tests.app.conftest import chain_project, write_chain


@pytest.fixture
def start(qtbot, qapp):
    """Start the window as `layerforge gui` without a file does; returns a function so a
    test can prepare settings or a recovery file first."""
    from app.devhooks import DevHooks
    from app.settings import open_settings
    from app.theme import ThemeManager
    from app.window.main_window import MainWindow
    from app.window.workspace import open_workspace

    made = []

    def launch():
        theme = ThemeManager(qapp, "light")
        win = MainWindow(theme, open_settings())
        win.resize(1440, 900)
        win.show()
        qtbot.waitExposed(win)
        open_workspace(win, None, DevHooks.from_env().options)
        qapp.processEvents()
        made.append((win, theme))
        return win

    yield launch
    for win, theme in made:
        ws = win.content
        if ws is not None:
            ws.training.shutdown()
            ws.document.replace_project(Project())
        win.close()
        win.deleteLater()
        theme.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _visible_docks(win) -> list[str]:
    return [d.objectName() for d in win.docks() if d.isVisible()]


def test_a_start_without_a_file_shows_the_welcome_with_every_template(start):
    win = start()
    ws = win.content
    assert ws.welcome.showing
    assert ws.central.currentWidget() is ws.welcome.page
    assert _visible_docks(win) == []  # the page has the whole window
    assert [c.summary.name for c in ws.welcome.page.cards] == list_templates()
    mlp = next(c.summary for c in ws.welcome.page.cards if c.summary.name == "mlp")
    assert mlp.dataset == "spirals" and mlp.params == 4547


def test_the_welcome_is_skipped_when_a_crash_left_changes_to_restore(start, config_dir,
                                                                     tmp_path, monkeypatch):
    project = write_chain(tmp_path / "net.lforge")
    crashed = GraphDocument(load_project(project), str(project.resolve()))
    crashed.add_node("model", "Dropout", node_id="lost")
    file = RecoveryStore(config_dir / "recovery").write(crashed)
    data = json.loads(file.read_text())
    data["pid"] = 2**22 + 12345  # a process that is not running
    file.write_text(json.dumps(data))
    monkeypatch.setenv("LAYERFORGE_RECOVERY", "restore")
    ws = start().content
    assert ws.document.node("model", "lost") is not None
    assert not ws.welcome.showing


def test_show_at_startup_is_a_setting(start, qtbot):
    win = start()
    page = win.content.welcome.page
    qtbot.mouseClick(page.show_at_startup, Qt.MouseButton.LeftButton)
    assert win.settings.value(SHOW_KEY) in (False, "false")
    again = start()
    assert not again.content.welcome.showing
    assert again.content.central.currentWidget() is again.content.tabs


@pytest.mark.parametrize("name", list_templates())
def test_choosing_a_template_card_opens_it_in_the_editor(start, qtbot, name):
    win = start()
    ws = win.content
    card = next(c for c in ws.welcome.page.cards if c.summary.name == name)
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton)
    expected = load_template(name)
    assert {g: len(graph.nodes) for g, graph in ws.document.project.graphs.items()} == \
        {g: len(graph.nodes) for g, graph in expected.graphs.items()}
    assert ws.document.path is None and not ws.document.is_dirty()
    assert not ws.welcome.showing
    assert ws.central.currentWidget() is ws.tabs
    assert "dock_palette" in _visible_docks(win) and "dock_inspector" in _visible_docks(win)


def test_the_cards_are_keyboard_navigable(start, qtbot):
    ws = start().content
    cards = ws.welcome.page.cards
    cards[0].setFocus()
    QTest.keyClick(cards[0], Qt.Key.Key_Right)
    assert cards[1].hasFocus()
    QTest.keyClick(cards[1], Qt.Key.Key_Return)
    assert ws.document.project.name == cards[1].summary.project.name
    assert not ws.welcome.showing


def test_help_welcome_comes_back_over_a_project_and_esc_returns_to_it(start, qtbot, tmp_path):
    win = start()
    ws = win.content
    path = write_chain(tmp_path / "net.lforge")
    assert ws.files.open_path(str(path))
    ws.actions.welcome.trigger()
    assert ws.welcome.showing
    assert ws.welcome.page.back_button.text() == "Back to net.lforge"
    QTest.keyClick(ws.welcome.page.cards[0], Qt.Key.Key_Escape)
    assert not ws.welcome.showing
    assert ws.document.path == str(path.resolve())
    assert "dock_palette" in _visible_docks(win)


def test_recent_projects_are_listed_and_a_missing_one_is_marked_and_removable(start, qtbot,
                                                                              tmp_path):
    present = write_chain(tmp_path / "present.lforge")
    gone = write_chain(tmp_path / "gone.lforge")
    from app.settings import RecentFiles, open_settings

    recent = RecentFiles(open_settings())
    recent.add(str(present))
    recent.add(str(gone))  # newest first
    gone.unlink()
    win = start()
    page = win.content.welcome.page
    assert page.recent_paths() == [(str(gone.resolve()), True), (str(present.resolve()), False)]
    missing = page.recent.item(0)
    assert "(missing)" in missing.text()
    assert missing.foreground().color() == win.theme.theme.color("subtext")
    assert page.remove_missing_button.isEnabled()
    qtbot.mouseClick(page.remove_missing_button, Qt.MouseButton.LeftButton)
    assert page.recent_paths() == [(str(present.resolve()), False)]
    assert win.content.files.recent.paths() == [str(present.resolve())]
    page.recent.setCurrentRow(0)
    QTest.keyClick(page.recent, Qt.Key.Key_Return)
    assert win.content.document.path == str(present.resolve())
    assert not win.content.welcome.showing


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_train_an_example_trains_a_copy_and_leaves_the_shipped_file_alone(start, qtbot,
                                                                          config_dir):
    from engine.train.events import Progress

    shipped = template_path("mlp")
    before = _digest(shipped)
    win = start()
    ws = win.content
    ui = ws.training
    with qtbot.waitSignal(ui.runner.event_received, timeout=90000,
                          check_params_cb=lambda ev: isinstance(ev, Progress)):
        qtbot.mouseClick(ws.welcome.page.train_button, Qt.MouseButton.LeftButton)
    copy = Path(ws.document.path)
    assert copy.parent == config_dir / "examples" and copy.name == "mlp.lforge"
    assert not ws.welcome.showing
    assert ws.document.project.runs  # the run is recorded in the copy's project
    assert Path(ws.document.project.runs[-1].path).parts[0] == "runs"
    with qtbot.waitSignal(ui.runner.run_ended, timeout=30000):
        ui.stop_action.trigger()
    assert _digest(shipped) == before
    assert (copy.parent / ws.document.project.runs[-1].path / "events.jsonl").is_file()


def test_a_second_example_run_reuses_its_copy(start, config_dir):
    from app.window.files import example_copy

    first = example_copy("mlp")
    first.write_text(json.dumps(json.loads(first.read_text()) | {"name": "mine"}))
    assert example_copy("mlp") == first  # kept, with the user's changes and runs
    first.write_text("{ broken")
    fresh = example_copy("mlp")
    assert fresh != first and load_project(fresh).name == "mlp"
    assert first.read_text() == "{ broken"  # never overwritten


def test_an_edit_while_the_welcome_shows_brings_the_canvas_back(start):
    ws = start().content
    ws.document.replace_project(chain_project())
    ws.welcome.show()
    ws.document.set_param("model", "fc1", "out_features", 5)
    assert not ws.welcome.showing


def test_a_template_summary_is_read_once_and_again_when_its_file_changes(tmp_path,
                                                                         monkeypatch):
    import engine.templates
    from app.window.template_cards import summarize_template

    monkeypatch.setattr(engine.templates, "EXAMPLES", tmp_path)
    path = tmp_path / "chain.lforge"
    write_chain(path, hidden=32)
    first = summarize_template("chain")
    assert summarize_template("chain") is first  # no second read of an unchanged file
    write_chain(path, hidden=128)  # another size: a new summary even within the same tick
    second = summarize_template("chain")
    assert second is not first
    assert second.params == 4 * 128 + 128 + 128 * 3 + 3 != first.params
