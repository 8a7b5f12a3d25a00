"""Window-level gestures: clipboard, duplicate, graph tabs, problems list, themes, undo."""

from __future__ import annotations

import json

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtTest import QTest

from app.document import MIME_BLOCKS
from engine.project import Project


def test_copy_puts_json_on_the_clipboard_under_a_mime_type_and_as_text(ws):
    ws.view().graph_scene.select_nodes(["fc1", "act"])
    assert ws.copy_selection()
    mime = QGuiApplication.clipboard().mimeData()
    data = json.loads(bytes(mime.data(MIME_BLOCKS).data()))
    assert [n["id"] for n in data["nodes"]] == ["fc1", "act"]
    assert [(e["src"], e["dst"]) for e in data["edges"]] == [("fc1", "act")]
    assert json.loads(mime.text()) == data


def test_paste_into_another_project_keeps_blocks_and_inner_wires(ws):
    ws.view().graph_scene.select_nodes(["fc1", "act"])
    ws.copy_selection()
    ws.document.replace_project(Project())  # a different project, as in another window
    new = ws.paste()
    assert new == ["fc1", "act"]
    assert [(e.src, e.dst) for e in ws.document.graph("model").edges] == [("fc1", "act")]
    assert sorted(ws.view().graph_scene.selected_node_ids()) == ["act", "fc1"]


def test_paste_accepts_blocks_as_plain_text(ws):
    payload = ws.document.copy_payload("model", ["fc2"])
    mime = QMimeData()
    mime.setText(json.dumps(payload))
    QGuiApplication.clipboard().setMimeData(mime)
    assert ws.paste() == ["fc2_2"]


def test_paste_of_unrelated_text_changes_nothing(ws):
    QGuiApplication.clipboard().setText("hello")
    before = ws.document.to_json()
    assert ws.paste() == []
    assert ws.document.to_json() == before
    assert "no blocks" in ws.window.statusBar().currentMessage()


def test_duplicate_and_cut_are_single_undo_steps(ws):
    ws.view().graph_scene.select_nodes(["fc1"])
    assert ws.duplicate_selection() == ["fc1_2"]
    ws.cut_selection()
    assert ws.document.node("model", "fc1_2") is None
    assert ws.document.undo_stack.count() == 2
    ws.document.undo()
    ws.document.undo()
    assert ws.document.node("model", "fc1_2") is None
    assert ws.document.undo_stack.index() == 0


def test_undo_and_redo_shortcuts_drive_the_document(ws):
    ws.document.set_param("model", "fc1", "out_features", 7)
    ws.window.activateWindow()
    ws.view().setFocus()
    QTest.keyClick(ws.view(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ws.document.node("model", "fc1").params["out_features"] == 32
    QTest.keyClick(ws.view(), Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert ws.document.node("model", "fc1").params["out_features"] == 7


def test_graphs_get_tabs_that_follow_add_rename_remove_and_undo(ws):
    name = ws.document.add_graph("discriminator")
    assert [ws.tabs.tabText(i) for i in range(ws.tabs.count())] == ["model", "discriminator"]
    ws.tabs.show_graph(name)
    ws.add_block("Linear")
    assert ws.document.graph("discriminator").nodes[0].type == "Linear"
    ws.document.rename_graph(name, "critic")
    assert ws.tabs.tabText(1) == "critic"
    ws.document.remove_graph("critic")
    assert ws.tabs.count() == 1
    ws.document.undo()
    assert ws.tabs.tabText(1) == "critic" and len(ws.tabs.view("critic").graph_scene.nodes) == 1


def test_clicking_a_problem_selects_and_centres_its_block(ws, qtbot):
    ws.document.set_param("model", "x", "shape", [1, 28, 28])
    view = ws.view()
    view.zoom_by(3)
    view.centerOn(-3000, 0)
    row = next(i for i, r in enumerate(ws.problems.rows()) if r[1] == "fc1")
    tree = ws.problems.tree
    item = ws.problems.item(row)
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                     pos=tree.visualItemRect(item).center())
    assert view.graph_scene.selected_node_ids() == ["fc1"]
    centre = view.visible_centre()
    node = view.graph_scene.nodes["fc1"].sceneBoundingRect().center()
    assert abs(centre.x() - node.x()) < 5 and abs(centre.y() - node.y()) < 5
    assert ws.inspector.node_id == "fc1"


def test_status_bar_totals_use_the_training_batch_size(ws):
    assert "batch 64" in ws.totals.text()
    ws.document.set_field("training", "batch_size", 8)
    assert "batch 8" in ws.totals.text()
    assert "parameters" in ws.totals.text()


def test_the_dark_theme_restyles_the_app_and_the_canvas(ws, qapp):
    ws.set_theme("dark")
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
    assert ws.view().graph_scene.theme.name == "dark"
    ws.set_theme("light")
    assert ws.view().graph_scene.theme.name == "light"


def test_following_the_system_restyles_when_the_scheme_changes(ws, qapp, monkeypatch):
    import app.theme

    ws.set_theme("system")
    monkeypatch.setattr(app.theme, "system_is_dark", lambda: True)
    QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert ws.view().graph_scene.theme.name == "dark"
    monkeypatch.setattr(app.theme, "system_is_dark", lambda: False)
    QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert ws.view().graph_scene.theme.name == "light"


def test_view_menu_lists_the_docks_and_add_dock_extends_it(ws):
    from PySide6.QtWidgets import QLabel

    titles = [a.text() for a in ws.window.panels_menu.actions()]
    assert titles[:3] == ["Blocks", "Inspector", "Problems"]
    assert {d.windowTitle() for d in ws.window.docks()} == set(titles)
    dock = ws.window.add_dock(QLabel("notes"), "Notes", name="notes")
    assert dock.objectName() == "dock_notes"
    assert ws.window.panels_menu.actions()[-1].text() == "Notes"


def test_find_block_focuses_the_palette_search(ws, qtbot):
    ws.window.activateWindow()
    qtbot.waitUntil(ws.window.isActiveWindow)
    ws.actions.find_block.trigger()
    assert ws.palette.search.hasFocus()


def test_the_script_hook_opens_a_second_project(ws, tmp_path):
    from app.devhooks.script import run_script
    from tests.app.conftest import write_chain

    second = write_chain(tmp_path / "second.lforge", hidden=8)
    run_script(ws, [{"op": "open", "path": str(second)}])
    assert ws.document.path == str(second.resolve())
    assert ws.document.node("model", "fc1").params["out_features"] == 8
