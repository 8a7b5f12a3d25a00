"""Help: the keyboard shortcuts list (read from the real actions) and the user guide viewer."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QImage, QKeySequence, QTextDocument
from PySide6.QtTest import QTest

from app.dialogs.help import UserGuideDialog, docs_dir
from app.dialogs.shortcuts import ShortcutsDialog, collect_shortcuts

ROOT = Path(__file__).resolve().parents[2]
NATIVE = QKeySequence.SequenceFormat.NativeText

GUIDE = """# LayerForge guide

Some words about networks.

## Getting started

Press Train to train. Training is fun.

![the editor](screenshots/editor.png)

## Shortcuts

See the list. Train again.
"""


def _keys(seq: str) -> str:
    return QKeySequence(seq).toString(NATIVE)


def _guide(tmp_path: Path) -> Path:
    path = tmp_path / "docs" / "user-guide.md"
    (path.parent / "screenshots").mkdir(parents=True)
    path.write_text(GUIDE)
    image = QImage(3000, 200, QImage.Format.Format_RGB32)
    image.fill(QColor("#2f6fde"))
    image.save(str(path.parent / "screenshots" / "editor.png"))
    return path


def test_the_help_menu_has_welcome_guide_shortcuts_and_about(ws):
    texts = [a.text() for a in ws.window.menus["help"].actions() if not a.isSeparator()]
    assert texts == ["&Welcome", "&User Guide", "&Keyboard Shortcuts", "&About LayerForge"]
    assert ws.actions.user_guide.shortcut().matches(QKeySequence(QKeySequence.StandardKey.HelpContents)) \
        == QKeySequence.SequenceMatch.ExactMatch
    assert ws.actions.shortcuts.shortcut() == QKeySequence("Ctrl+/")


def test_the_shortcuts_list_shows_the_real_keys_grouped_by_menu(ws):
    dialog = ws.help.show_shortcuts()
    rows = dialog.visible_rows()
    assert ("File", "Save", _keys("Ctrl+S")) in rows
    assert ("File", "Save As", _keys("Ctrl+Shift+S")) in rows
    undo = next(r for r in rows if r[0] == "Edit" and r[1].startswith("Undo"))
    assert undo[2] == _keys("Ctrl+Z")
    assert ("Training", "Train", f"{_keys('Ctrl+Return')}, {_keys('Ctrl+Enter')}") in rows
    assert ("Help", "Keyboard Shortcuts", _keys("Ctrl+/")) in rows
    dialog.close()


def test_every_action_with_a_shortcut_is_listed_so_the_list_cannot_drift(ws):
    listed = {(e.text, e.keys) for e in collect_shortcuts(ws.window)}
    actions = [*ws.actions.all(), ws.training.train_action, ws.training.stop_action]
    for action in actions:
        keys = tuple(s.toString(NATIVE) for s in action.shortcuts() if not s.isEmpty())
        if keys:  # (Quit has none on some platforms)
            assert any(k == keys for _t, k in listed), action.text()
    # a shortcut added later, anywhere in the menus, shows up without touching the dialog
    extra = ws.window.menus["graph"].addAction("Frobnicate")
    extra.setShortcut(QKeySequence("Ctrl+Alt+F"))
    assert ("Frobnicate", (_keys("Ctrl+Alt+F"),)) in {(e.text, e.keys) for e in
                                                      collect_shortcuts(ws.window)}


def test_the_filter_narrows_the_list(ws, qtbot):
    dialog = ShortcutsDialog(ws.window)
    qtbot.addWidget(dialog)
    everything = dialog.visible_rows()
    qtbot.keyClicks(dialog.filter, "save")
    assert {r[1] for r in dialog.visible_rows()} == {"Save", "Save As"}
    assert len(everything) > 20
    dialog.filter.setText(_keys("Ctrl+Z"))
    assert [r[1] for r in dialog.visible_rows()][0].startswith("Undo")
    dialog.filter.setText("no such action at all")
    assert dialog.visible_rows() == [] and dialog.empty.isVisibleTo(dialog)


def test_f1_opens_the_guide_with_its_headings_and_images(ws, qtbot, tmp_path):
    ws.help.guide_path = str(_guide(tmp_path))
    ws.window.activateWindow()
    qtbot.waitUntil(lambda: ws.window.isActiveWindow(), timeout=3000)
    QTest.keyClick(ws.window, Qt.Key.Key_F1)
    dialog = ws.window.findChild(UserGuideDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.headings() == [(1, "LayerForge guide"), (2, "Getting started"), (2, "Shortcuts")]
    assert [dialog.contents.item(i).text().strip() for i in range(dialog.contents.count())] == \
        ["LayerForge guide", "Getting started", "Shortcuts"]
    assert "Press Train to train." in dialog.browser.toPlainText()
    image = dialog.browser.document().resource(QTextDocument.ResourceType.ImageResource,
                                               QUrl("screenshots/editor.png"))
    assert isinstance(image, QImage) and 0 < image.width() < 3000  # found, fitted to the page
    assert dialog.show_heading("Shortcuts")
    assert dialog.browser.textCursor().block().text() == "Shortcuts"
    dialog.browser.anchorClicked.emit(QUrl("#getting-started"))
    assert dialog.browser.textCursor().block().text() == "Getting started"
    dialog.close()


def test_the_guide_search_counts_and_steps_through_matches(qapp, tmp_path):
    dialog = UserGuideDialog(_guide(tmp_path))
    dialog.search.setText("train")
    assert dialog.matches.text() == "4 matches"
    first = dialog.browser.textCursor().position()
    dialog.find_next()
    assert dialog.browser.textCursor().position() > first
    dialog.deleteLater()


def test_a_missing_guide_says_so(qapp, tmp_path):
    dialog = UserGuideDialog(tmp_path / "nowhere" / "user-guide.md")
    assert "not available" in dialog.browser.toPlainText()
    assert str(tmp_path / "nowhere") in dialog.browser.toPlainText()
    dialog.deleteLater()


def test_the_docs_are_found_in_a_source_checkout_and_in_a_bundle(monkeypatch, tmp_path):
    assert docs_dir() == ROOT / "docs"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert docs_dir() == tmp_path / "docs"


def test_the_bundle_ships_the_guide_and_its_screenshots():
    tree = ast.parse((ROOT / "packaging" / "layerforge.spec").read_text())
    datas = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == "datas" for t in n.targets))
    text = ast.unparse(datas)
    assert "'user-guide.md'), 'docs')" in text
    assert "'screenshots'), 'docs/screenshots')" in text
