"""Health badges: a small green, amber or red dot at the top left corner of each block with
statistics in the run shown (``app/canvas/health_stats.py`` grades them), whose tooltip
gives the block's latest numbers and a sparkline of the statistic that decided its colour.

:class:`HealthBadges` keeps the badges of every canvas tab in step with one
:class:`HealthHistory`: ``set_history`` shows a run (None: no badges at all), ``changed``
says the history grew. Updates are coalesced: however many events arrive, the badges are
walked at most once per frame, and a badge repaints only when its colour changes. The
tooltip (text and a sparkline image) is made when the mouse enters the badge, never per
update.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.canvas.health_stats import LOG_STATS, STATS, TITLES, HealthHistory, fmt_stat
from app.canvas.node_item import NodeItem
from app.text import plain_tooltip

if TYPE_CHECKING:
    from app.canvas.tabs import CanvasTabs

#: the colour of each level, by theme name
COLOURS = {"light": {"ok": "#1a7f37", "warn": "#bf8700", "bad": "#d1242f"},
           "dark": {"ok": "#3fb950", "warn": "#d29922", "bad": "#f85149"}}
LEVEL_WORDS = {"ok": "healthy", "warn": "watch", "bad": "unhealthy"}
FRAME_MS = 16  # at most one walk over the badges per frame
SPARK_SIZE = (180, 44)


def level_colour(level: str, theme_name: str = "light") -> QColor:
    return QColor(COLOURS.get(theme_name, COLOURS["light"]).get(level, "#8c959f"))


class HealthBadge(QGraphicsItem):
    """The dot on one block; ``key`` is the block's ``"GRAPH/NODE"``."""

    R = 5.5

    def __init__(self, parent: NodeItem, key: str, badges: HealthBadges) -> None:
        super().__init__(parent)
        self.key = key
        self.level = "ok"
        self._badges = badges
        self.setAcceptHoverEvents(True)
        self.setPos(0.0, 0.0)  # the corner: clear of ports, title and the corner badges
        self.setZValue(2)
        # the same size on screen at any zoom: readable when the whole network is in view
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)

    def boundingRect(self) -> QRectF:
        r = self.R + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def set_level(self, level: str) -> None:
        if level != self.level:
            self.level = level
            self.update()

    def describe(self) -> str:
        """The tooltip's text (without the sparkline)."""
        return self._badges.describe(self.key)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        theme = getattr(self.scene(), "theme", None)
        name = getattr(theme, "name", "light")
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        ring = theme.color("node_fill") if theme is not None else QColor("#ffffff")
        painter.setPen(QPen(ring, 1.5))
        painter.setBrush(level_colour(self.level, name))
        painter.drawEllipse(QPointF(0, 0), self.R, self.R)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        # made now rather than per update: most badges are never hovered
        self.setToolTip(self._badges.tooltip(self.key))
        super().hoverEnterEvent(event)


def sparkline(values: list[float], colour: QColor, log: bool,
              size: tuple[int, int] = SPARK_SIZE, ratio: float = 1.0) -> QPixmap:
    """A small line drawing of ``values`` (NaNs leave gaps), last point marked."""
    w, h = size
    pix = QPixmap(int(w * ratio), int(h * ratio))
    pix.setDevicePixelRatio(ratio)
    pix.fill(Qt.GlobalColor.transparent)
    ys = [(math.log10(v) if v > 0 else math.nan) if log else v for v in values]
    finite = [y for y in ys if math.isfinite(y)]
    if not finite:
        return pix
    lo, hi = min(finite), max(finite)
    span = hi - lo or 1.0
    pad = 4.0
    n = max(1, len(ys) - 1)

    def at(i: int, y: float) -> QPointF:
        return QPointF(pad + (w - 2 * pad) * i / n, h - pad - (h - 2 * pad) * (y - lo) / span)

    path = QPainterPath()
    pen_down = False
    for i, y in enumerate(ys):
        if not math.isfinite(y):
            pen_down = False
            continue
        if pen_down:
            path.lineTo(at(i, y))
        else:
            path.moveTo(at(i, y))
            pen_down = True
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(colour, 1.6))
    p.drawPath(path)
    last = next(((i, y) for i, y in reversed(list(enumerate(ys))) if math.isfinite(y)), None)
    if last is not None:
        p.setBrush(colour)
        p.drawEllipse(at(*last), 2.5, 2.5)
    p.end()
    return pix


def png_data_url(pix: QPixmap) -> str:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    pix.save(buf, "PNG")
    return "data:image/png;base64," + bytes(data.toBase64().data()).decode("ascii")


class HealthBadges(QObject):
    """The health badges of every canvas tab, following one run's :class:`HealthHistory`."""

    def __init__(self, tabs: CanvasTabs, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tabs = tabs
        self.history: HealthHistory | None = None
        self._types: dict[str, str] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self.refresh)
        d = tabs.document
        # new canvases (another project, a graph added) and renamed or re-shaped blocks
        for sig in (d.project_replaced, d.graph_added, d.edited):
            sig.connect(self.schedule)

    def set_history(self, history: HealthHistory | None) -> None:
        """Show ``history``'s blocks (None or empty: no badge anywhere)."""
        self.history = history
        self.schedule()

    def changed(self) -> None:
        """The history grew: the badges follow by the next frame."""
        self.schedule()

    def schedule(self, *_args: object) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        """Walk every block of every tab: add, recolour or remove its badge."""
        self._timer.stop()
        h = self.history
        blocks = h.blocks if h is not None else {}
        for graph, view in self.tabs.views.items():
            scene = view.graph_scene
            for node_id, item in scene.nodes.items():
                key = f"{graph}/{node_id}"
                badge = item.health_badge
                if key not in blocks:
                    if badge is not None:
                        item.health_badge = None
                        scene.removeItem(badge)
                    continue
                if not isinstance(badge, HealthBadge):
                    badge = item.health_badge = HealthBadge(item, key, self)
                badge.key = key  # the block may have been renamed
                self._types[key] = item.view.type_name
                badge.set_level(h.grade(key).level)  # type: ignore[union-attr]

    def badges(self) -> dict[str, HealthBadge]:
        """Every badge on the canvases now, by block key (tests, screenshots)."""
        return {item.health_badge.key: item.health_badge
                for view in self.tabs.views.values()
                for item in view.graph_scene.nodes.values()
                if isinstance(item.health_badge, HealthBadge)}

    # -- tooltips ----------------------------------------------------------------------
    def describe(self, key: str) -> str:
        h = self.history
        if h is None or key not in h.blocks:
            return ""
        g = h.grade(key)
        v = h.latest(key)
        name = key.rsplit("/", 1)[-1]
        kind = self._types.get(key, "")
        lines = [f"{name}{f' ({kind})' if kind else ''}: {LEVEL_WORDS[g.level]}, "
                 f"step {h.blocks[key].steps[-1]}"]
        lines += [f"• {r}" for r in g.reasons]
        # what does not apply to the block (None) is left out; every block has an output,
        # so an empty activation is one that was not finite (written as null)
        lines += [f"{TITLES[s]}: {fmt_stat(s, v[s]) if v[s] is not None else 'not finite'}"
                  for s in STATS if v.get(s) is not None
                  or (s in ("act_mean", "act_std") and s in v)]
        if g.stat:
            series = h.blocks[key]
            lines.append(f"{TITLES[g.stat]} over steps {series.steps[0]}–{series.steps[-1]}"
                         + (" (log scale):" if g.stat in LOG_STATS else ":"))
        return "\n".join(lines)

    def tooltip(self, key: str) -> str:
        """Plain text (escaped) and the sparkline as an inline image."""
        text = self.describe(key)
        h = self.history
        if not text or h is None:
            return ""
        g = h.grade(key)
        tip = plain_tooltip(text)
        if g.stat:
            _steps, ys = h.blocks[key].series(g.stat)
            theme = getattr(self.tabs, "theme", None)
            pix = sparkline(ys, level_colour(g.level, getattr(theme, "name", "light")),
                            g.stat in LOG_STATS, ratio=self.tabs.devicePixelRatioF())
            tip += (f"<p><img src='{png_data_url(pix)}' width={SPARK_SIZE[0]} "
                    f"height={SPARK_SIZE[1]}></p>")
        return tip
