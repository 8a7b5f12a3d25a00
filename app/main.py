"""`layerforge gui [FILE]`: start the app. Thin on purpose: the window paints before the
editor (and the engine behind it) is imported; torch is never imported by the editor."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

ENV_THEME = "LAYERFORGE_THEME"  # system, light or dark; overrides the saved choice


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="layerforge gui")
    parser.add_argument("file", nargs="?", help="a .lforge project to open")
    parser.add_argument("--self-test", action="store_true",
                        help="open the window, train the mlp template briefly, export ONNX, "
                             "print a report and exit 0 (or 1 with the reason)")
    args = parser.parse_args(argv)
    path = str(Path(args.file).expanduser()) if args.file else None
    self_test = None
    if args.self_test:
        from app.selftest import SelfTest

        self_test = SelfTest()  # before the settings are opened: it isolates them

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.icons import set_icon_color
    from app.settings import open_settings
    from app.theme import ThemeManager
    from app.window.main_window import MainWindow, report

    report("main")
    app = QApplication.instance() or QApplication(["layerforge"])
    app.setApplicationName("LayerForge")
    app.setOrganizationName("LayerForge")
    app.setDesktopFileName("layerforge")
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl+C in a terminal ends the app
    settings = open_settings()
    preference = os.environ.get(ENV_THEME) or str(settings.value("theme", "system"))
    theme = ThemeManager(app, preference)
    set_icon_color(theme.theme.text)
    window = MainWindow(theme, settings)
    if self_test is not None:
        return self_test.run(app, window)
    window.first_painted.connect(lambda: QTimer.singleShot(0, lambda: window.finish_startup(path)))
    window.show()
    # Mime data this process put on the clipboard would be freed after QApplication on the
    # way out and crash the interpreter: hand the clipboard back before quitting.
    app.aboutToQuit.connect(lambda: app.clipboard().clear())
    return app.exec()
