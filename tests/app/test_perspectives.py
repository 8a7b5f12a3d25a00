"""The window's perspectives (Design, Train, Evaluate): what each shows, that each keeps
its own layout across switches and restarts, and that the window fits small screens."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QByteArray, QRect, Qt

from app.window.perspectives import KEY_CURRENT, PERSPECTIVES, STATE_VERSION


def shown(window) -> set[str]:
    """The docks on screen (visible, whether or not in front of their tab group)."""
    return {d.objectName().removeprefix("dock_") for d in window.docks() if d.isVisible()}


def width_of(ws, name: str) -> int:
    return ws.perspectives.dock(name).width()


def test_the_window_opens_in_design_with_the_canvas_taking_the_room(window, ws):
    assert ws.perspectives.current == "design"
    assert ws.perspectives.actions["design"].isChecked()
    assert ws.central.isVisible()
    assert {"palette", "inspector", "problems"} <= shown(window)
    assert not {"plots", "training", "runs", "evaluation", "hyperparams"} & shown(window)
    canvas = ws.tabs.current_view()
    assert canvas.width() > window.width() // 2
    assert canvas.height() > window.height() // 2


def test_train_shows_the_plots_largest_and_hides_the_canvas(window, ws, qtbot):
    ws.perspectives.actions["train"].trigger()
    assert ws.perspectives.current == "train"
    assert not ws.central.isVisible()
    assert {"plots", "training", "runs", "hyperparams"} <= shown(window)
    assert not {"palette", "inspector", "evaluation"} & shown(window)
    qtbot.waitUntil(lambda: not ws.perspectives.settling)
    qtbot.waitUntil(lambda: width_of(ws, "plots") > max(width_of(ws, "hyperparams"),
                                                         width_of(ws, "training")))


def test_evaluate_gives_the_evaluation_the_width(window, ws, qtbot):
    ws.perspectives.switch("evaluate")
    assert not ws.central.isVisible()
    assert {"evaluation", "runs"} <= shown(window)
    assert not {"palette", "plots", "hyperparams"} & shown(window)
    qtbot.waitUntil(lambda: not ws.perspectives.settling)
    qtbot.waitUntil(lambda: width_of(ws, "evaluation") > 2 * width_of(ws, "runs"))


def test_each_perspective_has_a_window_shortcut_and_a_view_menu_entry(window, ws):
    keys = {name: a.shortcut().toString() for name, a in ws.perspectives.actions.items()}
    assert keys == {"design": "Ctrl+1", "train": "Ctrl+2", "evaluate": "Ctrl+3"}
    view = window.menus["view"]
    sub = next(a.menu() for a in view.actions() if a.menu() and "Perspective" in a.text().replace("&", ""))
    assert [a.text() for a in sub.actions() if a.text()][:3] == ["Design", "Train", "Evaluate"]
    for name in PERSPECTIVES:
        assert window.findChild(object, f"perspective_{name}") is not None  # toolbar button


def test_a_perspective_keeps_its_own_layout_across_switches(window, ws, qtbot):
    palette = ws.perspectives.dock("palette")
    window.resizeDocks([palette], [330], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: abs(palette.width() - 330) <= 8)
    ws.perspectives.switch("train")
    assert not palette.isVisible()
    ws.perspectives.switch("design")
    qtbot.waitUntil(lambda: palette.isVisible())
    assert abs(palette.width() - 330) <= 8


def test_the_layout_survives_closing_and_reopening_the_window(window, ws, qtbot, qapp):
    """Point 6 of the workspace issue: reopening restored the palette at ~45% width."""
    from app.devhooks import DevHooks
    from app.settings import open_settings
    from app.theme import ThemeManager
    from app.window.main_window import MainWindow
    from app.window.workspace import open_workspace

    window.resize(780, 760)  # what fits the offscreen test screen (800x800)
    p = ws.perspectives
    p.switch("train")
    qtbot.waitUntil(lambda: not p.settling)
    hyper = p.dock("hyperparams")
    default = hyper.width()
    window.resizeDocks([hyper], [default + 60], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: hyper.width() > default + 25)
    hyper_width = hyper.width()
    p.switch("design")
    qtbot.waitUntil(lambda: not p.settling)
    palette = p.dock("palette")
    window.resizeDocks([palette], [palette.width() + 50], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: palette.width() > 240)
    palette_width = palette.width()
    ws.document.replace_project(ws.document.project.__class__())  # nothing to save
    window.close()
    assert window.settings.value(KEY_CURRENT) == "design"

    theme = ThemeManager(qapp, "light")
    again = MainWindow(theme, open_settings())
    again.show()
    qtbot.waitExposed(again)
    try:
        ws2 = open_workspace(again, None, DevHooks.from_env().options)
        ws2.welcome.leave()
        assert again.size() == window.size()
        assert ws2.perspectives.current == "design"
        qtbot.waitUntil(lambda: ws2.perspectives.dock("palette").isVisible())
        assert ws2.perspectives.dock("palette").width() == palette_width
        ws2.perspectives.switch("train")
        qtbot.waitUntil(lambda: ws2.perspectives.dock("hyperparams").isVisible())
        assert ws2.perspectives.dock("hyperparams").width() == hyper_width
    finally:
        again.close()
        again.deleteLater()
        theme.deleteLater()


def test_a_layout_saved_by_another_version_is_not_applied(window, ws, qtbot):
    palette = ws.perspectives.dock("palette")
    window.resizeDocks([palette], [400], Qt.Orientation.Horizontal)
    old = window.saveState(STATE_VERSION - 1)
    window.settings.setValue("window/perspective/design", old)
    ws.perspectives.switch("train")
    window.settings.setValue("window/perspective/design", old)  # what an old version saved
    ws.perspectives.switch("design")
    qtbot.waitUntil(lambda: palette.width() < 300)  # the default, not the old state's 400


def test_reset_layout_brings_back_the_default(window, ws, qtbot):
    palette = ws.perspectives.dock("palette")
    default = palette.width()
    palette.close()
    assert not palette.isVisible()
    ws.perspectives.reset_action.trigger()
    qtbot.waitUntil(lambda: palette.isVisible())
    assert abs(palette.width() - default) <= 8


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1366, 768)])
def test_every_perspective_fits_a_small_screen(window, ws, qtbot, width, height):
    """Point 7: the window opened larger than a 1280x800 screen, panels off its edges."""
    window.resize(1440, 900)
    window.fit_to_screen(QRect(0, 0, width, height))
    assert window.width() <= width and window.height() <= height
    for name in PERSPECTIVES:
        ws.perspectives.switch(name)
        hint = window.minimumSizeHint()
        assert hint.width() <= width and hint.height() <= height, (name, hint)


def test_a_saved_geometry_from_a_bigger_screen_is_fitted_in(window):
    window.setGeometry(300, 200, 1800, 1000)
    window.fit_to_screen(QRect(0, 0, 1280, 800))
    g = window.geometry()
    assert QRect(0, 0, 1280, 800).contains(g), g


def test_selecting_a_block_brings_the_inspector_to_the_front(window, ws, qtbot):
    dataset = ws.perspectives.dock("dataset")
    dataset.raise_()
    qtbot.waitUntil(lambda: ws.inspector_dock.visibleRegion().isEmpty())
    ws.tabs.current_scene().select_nodes(["fc1"])
    qtbot.waitUntil(lambda: not ws.inspector_dock.visibleRegion().isEmpty())
    assert ws.inspector.node_id == "fc1"


def test_the_welcome_page_sets_the_docks_aside_and_back_returns_to_the_perspective(
        window, ws, qtbot):
    ws.perspectives.switch("evaluate")
    ws.welcome.show()
    assert not shown(window)
    ws.welcome.page.back_requested.emit()
    assert ws.perspectives.current == "evaluate"
    qtbot.waitUntil(lambda: {"evaluation", "runs"} <= shown(window))


def test_opening_a_project_from_the_welcome_page_goes_to_design(window, ws, qtbot, tmp_path):
    from tests.app.conftest import write_chain

    ws.perspectives.switch("train")
    ws.welcome.show()
    assert ws.files.open_path(str(write_chain(tmp_path / "p.lforge")), confirm=False)
    assert ws.perspectives.current == "design"
    assert ws.central.isVisible() and not ws.welcome.showing


def test_a_saved_state_is_a_qt_state_of_this_version(window, ws):
    ws.perspectives.switch("train")
    saved = window.settings.value("window/perspective/design")
    assert isinstance(saved, QByteArray)
    assert window.restoreState(saved, STATE_VERSION)


def test_the_toolbar_stays_after_the_welcome_page_and_a_new_project(window, ws, qtbot):
    """A layout saved while the welcome page showed (the toolbar not shown yet at start-up)
    hid the toolbar, switcher included, for good."""
    from PySide6.QtWidgets import QToolBar

    bar = window.findChild(QToolBar, "toolbar_main")
    assert bar.isVisible()
    ws.welcome.show()
    assert ws.files.new_from_template("mlp")
    assert bar.isVisible()
    ws.perspectives.switch("train")
    ws.perspectives.switch("design")
    assert bar.isVisible()
