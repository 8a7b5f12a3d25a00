"""`layerforge gui [FILE]`: start the app. Thin on purpose: the window paints before the
editor (and the engine behind it) is imported; torch is never imported by the editor."""

from __future__ import annotations

import argparse
import gc
import signal
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="layerforge gui")
    parser.add_argument("file", nargs="?", help="a .lforge project to open")
    parser.add_argument("--self-test", action="store_true",
                        help="open the window, train the mlp template briefly, export ONNX, "
                             "print a report and exit 0 (or 1 with the reason)")
    args = parser.parse_args(argv)
    path = str(Path(args.file).expanduser()) if args.file else None
    from app.devhooks import DevHooks

    hooks = DevHooks.from_env()
    self_test = None
    if args.self_test:
        from dataclasses import replace

        from app.selftest import SelfTest

        # before the settings are opened: it isolates them. Its warm worker starts at Train.
        self_test = SelfTest(replace(hooks.options, warm_delay_ms=None),
                             keep=hooks.selftest_keep, time_limit_s=hooks.selftest_timeout_s)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.icons import set_icon_color
    from app.settings import open_settings
    from app.theme import ThemeManager
    from app.widgets.wheel_guard import install_wheel_guard
    from app.window.main_window import MainWindow

    hooks.report("main")
    app = QApplication.instance() or QApplication(["layerforge"])
    app.setApplicationName("LayerForge")
    app.setOrganizationName("LayerForge")
    app.setDesktopFileName("layerforge")
    install_wheel_guard(app)  # a wheel over an unfocused field scrolls its form
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl+C in a terminal ends the app
    settings = open_settings()
    preference = hooks.theme or str(settings.value("theme", "system"))
    theme = ThemeManager(app, preference)
    set_icon_color(theme.theme.text)
    window = MainWindow(theme, settings)
    if self_test is not None:
        return self_test.run(app, window)
    hooks.watch(window)

    collector: list[object] = []  # kept alive for the app's life

    def build() -> None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        from app.window.workspace import open_workspace

        hooks.apply(open_workspace(window, path, hooks.options))
        # Python's collector runs in whichever thread allocates: collecting a Qt wrapper in
        # a job's thread runs its C++ destructor there. Collect in the GUI thread instead.
        collector.append(GarbageCollector(interval=1.0))
        # What exists now (the modules, the window and its panels) lives as long as the app:
        # keep it out of every later full collection, which would walk it all in the GUI
        # thread (67 ms on a 2-core EPYC; 130 ms with torch loaded). The first project's
        # own objects are frozen too: opening another project leaves those that form cycles
        # behind, once (282 objects after LeNet-5).
        gc.freeze()

    window.first_painted.connect(lambda: QTimer.singleShot(0, build))
    window.show()
    # Mime data this process put on the clipboard would be freed after QApplication on the
    # way out and crash the interpreter: hand the clipboard back before quitting.
    app.aboutToQuit.connect(lambda: app.clipboard().clear())
    return app.exec()
