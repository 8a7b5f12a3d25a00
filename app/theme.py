"""Light and dark themes that follow the system colour scheme.

One ``Theme`` holds every colour the app paints itself (canvas, blocks, wires); the widget
palette and a small style sheet (resources/styles) are derived from it. ``ThemeManager``
watches ``QStyleHints.colorSchemeChanged`` and re-styles the running app.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

STYLES = Path(__file__).resolve().parent.parent / "resources" / "styles"
PREFERENCES = ("system", "light", "dark")


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    subtext: str
    button: str
    border: str
    highlight: str
    canvas: str
    grid_minor: str
    grid_major: str
    node_fill: str
    node_border: str
    edge: str
    edge_label: str
    port_fill: str
    error: str
    warning: str
    ok: str

    def color(self, name: str) -> QColor:
        return QColor(getattr(self, name))


LIGHT = Theme(
    name="light", window="#f2f3f5", base="#ffffff", alt_base="#f6f7f9", text="#1f2328",
    subtext="#59636e", button="#e9ebef", border="#c5cbd3", highlight="#2f6fde",
    canvas="#f7f8fa", grid_minor="#f0f1f4", grid_major="#e4e7ec", node_fill="#ffffff",
    node_border="#bfc6cf", edge="#8792a2", edge_label="#3d4650", port_fill="#ffffff",
    error="#d1242f", warning="#b07d00", ok="#1a7f37",
)

DARK = Theme(
    name="dark", window="#1f2125", base="#18191c", alt_base="#212328", text="#e6e8eb",
    subtext="#9aa3ad", button="#2b2e34", border="#3b4048", highlight="#4c8dff",
    canvas="#16181b", grid_minor="#1b1d21", grid_major="#23262b", node_fill="#24272c",
    node_border="#40464f", edge="#7f8996", edge_label="#c4cad1", port_fill="#2b2e34",
    error="#f85149", warning="#d29922", ok="#3fb950",
)

#: Accent per block family; families added later get a stable colour from their name.
FAMILY_ACCENTS = {
    "io": "#6e7781", "dense": "#2f81f7", "conv": "#8957e5", "pool": "#bf3989",
    "norm": "#1a7f37", "activation": "#c98f00", "recurrent": "#e16f24",
    "attention": "#0e8a9a", "merge": "#57606a", "reshape": "#6639ba", "heads": "#cf222e",
    "audio": "#3a5a8c",
}


def family_color(family: str) -> QColor:
    if family in FAMILY_ACCENTS:
        return QColor(FAMILY_ACCENTS[family])
    hue = int(hashlib.sha1(family.encode()).hexdigest()[:4], 16) % 360
    return QColor.fromHsv(hue, 160, 200)


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints is not None and hints.colorScheme() == Qt.ColorScheme.Dark


def pick_theme(preference: str) -> Theme:
    if preference == "dark" or (preference == "system" and system_is_dark()):
        return DARK
    return LIGHT


def make_palette(t: Theme) -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    for r, c in ((role.Window, t.window), (role.WindowText, t.text), (role.Base, t.base),
                 (role.AlternateBase, t.alt_base), (role.Text, t.text),
                 (role.Button, t.button), (role.ButtonText, t.text),
                 (role.ToolTipBase, t.base), (role.ToolTipText, t.text),
                 (role.Highlight, t.highlight), (role.HighlightedText, "#ffffff"),
                 (role.Link, t.highlight), (role.PlaceholderText, t.subtext),
                 (role.Mid, t.border), (role.Midlight, t.alt_base), (role.Dark, t.border),
                 (role.Light, t.base), (role.Shadow, "#000000")):
        p.setColor(r, QColor(c))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, QColor(t.subtext))
    return p


class ThemeManager(QObject):
    """Applies a theme to the app and re-applies it when the system scheme changes."""

    theme_changed = Signal(object)

    def __init__(self, app: QApplication, preference: str = "system",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._preference = preference if preference in PREFERENCES else "system"
        self._theme = pick_theme(self._preference)
        # The same look everywhere; Fusion honours the palette fully. Setting a style (or a
        # style sheet) re-polishes every widget, so only do it when it changes.
        if self._app.style().name().lower() != "fusion":
            self._app.setStyle("Fusion")
        hints = QGuiApplication.styleHints()
        if hints is not None:
            hints.colorSchemeChanged.connect(self._on_hints_color_scheme_changed)
        self._apply()

    @property
    def theme(self) -> Theme:
        return self._theme

    @property
    def preference(self) -> str:
        return self._preference

    def set_preference(self, preference: str) -> None:
        self._preference = preference if preference in PREFERENCES else "system"
        self._refresh()

    def _on_hints_color_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        self._refresh()

    def _refresh(self) -> None:
        theme = pick_theme(self._preference)
        if theme is not self._theme:
            self._theme = theme
            self._apply()
            self.theme_changed.emit(theme)

    def _apply(self) -> None:
        self._app.setPalette(make_palette(self._theme))
        qss = STYLES / f"{self._theme.name}.qss"
        sheet = qss.read_text() if qss.is_file() else ""
        if self._app.styleSheet() != sheet:
            self._app.setStyleSheet(sheet)
