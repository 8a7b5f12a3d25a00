"""Where LayerForge keeps its settings and recovery files, and the recent-files list.

``LAYERFORGE_CONFIG_DIR`` points everything at another folder (tests use a temporary one,
so they never touch the user's settings). Settings are an INI file on every platform: one
readable file, the same in tests and in use.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

ENV_CONFIG_DIR = "LAYERFORGE_CONFIG_DIR"
MAX_RECENT = 10


def config_dir() -> Path:
    """The settings folder, created on first use."""
    env = os.environ.get(ENV_CONFIG_DIR)
    if env:
        folder = Path(env)
    else:
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
        folder = Path(base or Path.home() / ".config") / "layerforge"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_settings() -> QSettings:
    return QSettings(str(config_dir() / "layerforge.ini"), QSettings.Format.IniFormat)


def setting_int(settings: QSettings, key: str, default: int) -> int:
    try:
        return int(settings.value(key, default))
    except (TypeError, ValueError):
        return default


def setting_bool(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key, default)
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    return bool(value)


class RecentFiles:
    """Most recently opened or saved projects, newest first, kept in the settings."""

    KEY = "recent_files"

    def __init__(self, settings: QSettings) -> None:
        self._settings = settings

    def paths(self) -> list[str]:
        value = self._settings.value(self.KEY, [])
        if isinstance(value, str):  # QSettings returns a lone entry as a plain string
            value = [value]
        return [str(v) for v in value or [] if v]

    def add(self, path: str) -> None:
        path = str(Path(path).resolve())
        rest = [p for p in self.paths() if p != path]
        self._store([path, *rest][:MAX_RECENT])

    def remove(self, path: str) -> None:
        self._store([p for p in self.paths() if p != path])

    def clear(self) -> None:
        self._store([])

    def _store(self, paths: list[str]) -> None:
        self._settings.setValue(self.KEY, paths)
        self._settings.sync()
