"""Fixtures for the app tests: isolated settings, a real main window, small test graphs."""

from __future__ import annotations

import gc

import pytest

from engine.project import Edge, Graph, Node, Project


def pytest_collection_modifyitems(items):
    # A modal dialog blocks Python signal handlers: time out from a thread instead.
    for item in items:
        if "tests/app/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.timeout(120, method="thread"))


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    """Every test gets its own settings and recovery folder and no scripted answers."""
    folder = tmp_path / "config"
    monkeypatch.setenv("LAYERFORGE_CONFIG_DIR", str(folder))
    # No background worker process unless a test starts one itself.
    monkeypatch.setenv("LAYERFORGE_WARM_WORKER", "off")
    monkeypatch.delenv("LAYERFORGE_AUTOTRAIN", raising=False)
    for var in ("LAYERFORGE_AUTOSAVE_MS", "LAYERFORGE_RECOVERY", "LAYERFORGE_SCRIPT",
                "LAYERFORGE_THEME", "LAYERFORGE_REPORT_STARTUP"):
        monkeypatch.delenv(var, raising=False)
    return folder


@pytest.fixture(autouse=True)
def gc_in_the_gui_thread(gc_the_module):
    """As the app does (app/main.py): no garbage collection in a job's thread during a test,
    where collecting a Qt wrapper left by an earlier test runs its C++ destructor in the
    wrong thread ("QBasicTimer::start: Timers cannot be started from another thread");
    collect here, in the GUI thread, after the test. The young generations only: what the
    test made (a full collection walks every object the worker process holds, 0.6 s late
    in a run, longer than many tests); the module's end collects everything."""
    gc.disable()
    yield
    gc.enable()
    gc.collect(1)


@pytest.fixture(scope="module")
def gc_the_module():
    """A full collection in the GUI thread after each app test module (see above)."""
    yield
    gc.collect()


def chain_project(hidden: int = 32) -> Project:
    """Input [4] -> Linear -> ReLU -> Linear(3) -> Output, laid out left to right."""
    nodes = [
        Node(id="x", type="Input", params={"shape": [4], "dtype": "float", "vocab": 0},
             position=(0.0, 0.0)),
        Node(id="fc1", type="Linear", params={"out_features": hidden, "bias": True},
             position=(220.0, 0.0)),
        Node(id="act", type="ReLU", position=(440.0, 0.0)),
        Node(id="fc2", type="Linear", params={"out_features": 3, "bias": True},
             position=(660.0, 0.0)),
        Node(id="y", type="Output", position=(880.0, 0.0)),
    ]
    edges = [Edge(src=a, dst=b) for a, b in (("x", "fc1"), ("fc1", "act"), ("act", "fc2"),
                                             ("fc2", "y"))]
    return Project(name="chain", graphs={"model": Graph(nodes=nodes, edges=edges)})


def write_chain(path, hidden: int = 32):
    from engine.project import save_project

    save_project(chain_project(hidden), path)
    return path


@pytest.fixture
def window(qtbot, qapp, tmp_path):
    """The real main window with the editor built, showing an unsaved copy of chain_project."""
    from app.devhooks import DevHooks
    from app.settings import open_settings
    from app.theme import ThemeManager
    from app.window.main_window import MainWindow
    from app.window.workspace import open_workspace

    theme = ThemeManager(qapp, "light")
    win = MainWindow(theme, open_settings())
    win.resize(1200, 800)
    # Not qtbot.addWidget: pytest-qt would close the window before this fixture makes the
    # document clean, and an unsaved document would ask "Save changes?" and wait forever.
    win.show()
    qtbot.waitExposed(win)
    ws = open_workspace(win, None, DevHooks.from_env().options)
    ws.document.replace_project(chain_project())
    qapp.processEvents()  # let the deferred fit-to-view run before the test drives the view
    yield win
    # Leave nothing unsaved behind, so closing the window asks nothing.
    if win.isVisible() and win.content is not None:
        win.content.document.replace_project(Project())
    win.close()
    win.deleteLater()
    theme.deleteLater()
    # Delete them now, not at some later event loop: a window left alive is re-polished by
    # every later theme change and slows every later test.
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtGui import QGuiApplication

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    # Mime data left on the clipboard is freed after QApplication at exit, which crashes
    # the interpreter on the way out.
    QGuiApplication.clipboard().clear()


@pytest.fixture
def ws(window):
    return window.content
