"""The welcome page's template cards: a summary of each example project and a small drawing
of its graph, painted from the node positions and wires in the file (no scene, no torch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QAbstractButton, QWidget

from app.text import fmt_count, plain_tooltip
from app.theme import Theme, family_color
from app.window.gallery import describe_template
from engine.blocks import get_block
from engine.composite import top_level
from engine.project import DatasetSpec, Graph, Project, ProjectError
from engine.shapes import analyze_graph
from engine.templates import list_templates, load_template, template_path

# The canvas draws blocks 150 units wide; about 60 tall is typical. Positions are top-left.
NODE_W, NODE_H = 150.0, 60.0
CARD_W, CARD_H = 264, 236
THUMB_H = 128
RADIUS = 8.0


@dataclass(frozen=True)
class TemplateSummary:
    name: str
    title: str
    description: str
    notes: str
    params: int
    blocks: int
    dataset: str
    project: Project


def dataset_label(spec: DatasetSpec) -> str:
    if spec.source in ("builtin", "download"):
        return spec.name or spec.source
    return f"{spec.source} file" if spec.source != "folder" else "image folder"


#: summaries already made, by template file and its modification time and size: every
#: welcome page shows them all, and reading and analysing 16 files took 0.25 s each time
_SUMMARIES: dict[tuple[str, int, int], TemplateSummary] = {}


def summarize_template(name: str) -> TemplateSummary:
    """Raises ProjectError when the template cannot be read. The summary (its project
    included) is shared between callers: read it, do not change it."""
    path = template_path(name)
    try:
        st = path.stat()
    except OSError as e:
        raise ProjectError(f"template {name!r} cannot be read: {e.strerror or e}") from e
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _SUMMARIES:
        project = load_template(name)
        info = describe_template(name, project)
        params = sum(analyze_graph(project.graphs[gname], gname, project.graphs).total_params
                     for gname in top_level(project))
        _SUMMARIES[key] = TemplateSummary(
            name, info.title, info.description, project.notes.strip(), params, info.blocks,
            dataset_label(project.dataset), project)
    return _SUMMARIES[key]


def template_summaries() -> list[tuple[TemplateSummary | None, str, str]]:
    """(summary or None, name, problem) for every shipped template; a broken one is kept
    with its problem so the page can say what is wrong instead of hiding it."""
    out: list[tuple[TemplateSummary | None, str, str]] = []
    for name in list_templates():
        try:
            out.append((summarize_template(name), name, ""))
        except ProjectError as e:
            out.append((None, name, str(e)))
    return out


# -- the drawing ----------------------------------------------------------------------------
def _family(type_name: str) -> str:
    block = get_block(type_name)
    return block.family if block is not None else "io"


def _draw_graph(p: QPainter, graph: Graph, area: QRectF, t: Theme) -> None:
    if not graph.nodes:
        return
    xs = [n.position[0] for n in graph.nodes]
    ys = [n.position[1] for n in graph.nodes]
    x0, y0 = min(xs), min(ys)
    w = max(xs) - x0 + NODE_W
    h = max(ys) - y0 + NODE_H
    scale = min(area.width() / w, area.height() / h, 0.35)
    ox = area.left() + (area.width() - w * scale) / 2
    oy = area.top() + (area.height() - h * scale) / 2

    def box(node_pos: tuple[float, float]) -> QRectF:
        return QRectF(ox + (node_pos[0] - x0) * scale, oy + (node_pos[1] - y0) * scale,
                      NODE_W * scale, NODE_H * scale)

    boxes = {n.id: box(n.position) for n in graph.nodes}
    pen = QPen(t.color("edge"), max(1.0, scale * 4))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    faint = QPen(pen)
    dim = t.color("edge")
    dim.setAlpha(90)
    faint.setColor(dim)
    p.setBrush(Qt.BrushStyle.NoBrush)
    for e in graph.edges:
        a, b = boxes.get(e.src), boxes.get(e.dst)
        if a is None or b is None:
            continue
        # Wires that run back to the start of the next row are drawn faint, so the rows
        # of blocks read first.
        p.setPen(faint if b.left() < a.left() else pen)
        start = QPointF(a.right(), a.center().y())
        end = QPointF(b.left(), b.center().y())
        bend = max(12.0, abs(end.x() - start.x()) / 2)
        path = QPainterPath(start)
        path.cubicTo(start + QPointF(bend, 0), end - QPointF(bend, 0), end)
        p.drawPath(path)
    radius = max(1.5, 6 * scale)
    for n in graph.nodes:
        r = boxes[n.id]
        p.setPen(QPen(t.color("node_border"), 1.0))
        p.setBrush(t.color("node_fill"))
        p.drawRoundedRect(r, radius, radius)
        accent = family_color(_family(n.type))
        head = QRectF(r.left(), r.top(), r.width(), max(3.0, r.height() * 0.36))
        tint = QColor(accent)
        tint.setAlpha(150 if t.name == "dark" else 110)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(tint)
        p.drawRoundedRect(head.adjusted(0.5, 0.5, -0.5, 0), radius, radius)
        p.setBrush(accent)
        p.drawRect(QRectF(r.left() + 0.5, r.top() + 0.5, max(2.0, r.width() * 0.05),
                          r.height() - 1))


def render_thumbnail(project: Project, size: QSize, t: Theme, ratio: float = 1.0) -> QPixmap:
    """The project's graphs drawn small, one band per graph, on the canvas colour."""
    pix = QPixmap(size * ratio)
    pix.setDevicePixelRatio(ratio)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    rect = QRectF(0, 0, size.width(), size.height())
    clip = QPainterPath()
    clip.addRoundedRect(rect, RADIUS, RADIUS)
    p.setClipPath(clip)
    p.fillRect(rect, t.color("canvas"))
    top = top_level(project)  # a composite shows as its block in the graph that uses it
    graphs = [(name, project.graphs[name]) for name in top]
    band = rect.height() / max(1, len(graphs))
    small = QFont(p.font())
    small.setPointSizeF(max(6.5, small.pointSizeF() * 0.75))
    for i, (name, graph) in enumerate(graphs):
        area = QRectF(rect.left() + 12, rect.top() + i * band + 8, rect.width() - 24, band - 16)
        if len(graphs) > 1:
            p.setFont(small)
            p.setPen(t.color("subtext"))
            p.drawText(QRectF(area.left(), area.top() - 4, area.width(), 14),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, name)
            area.adjust(0, 10, 0, 0)
        _draw_graph(p, graph, area, t)
    p.end()
    return pix


def _wrap(text: str, fm: QFontMetrics, width: int, max_lines: int) -> list[str]:
    """Word-wrap ``text`` into at most ``max_lines`` lines, eliding the last one."""
    lines: list[str] = []
    words = text.split()
    current = ""
    for i, word in enumerate(words):
        trial = f"{current} {word}".strip()
        if fm.horizontalAdvance(trial) <= width or not current:
            current = trial
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines - 1:
            rest = " ".join(words[i:])
            lines.append(fm.elidedText(rest, Qt.TextElideMode.ElideRight, width))
            return lines
    if current:
        lines.append(fm.elidedText(current, Qt.TextElideMode.ElideRight, width))
    return lines


class TemplateCard(QAbstractButton):
    """One template: thumbnail, name, description, size and dataset. A focusable button:
    Enter or Space opens it; the arrow keys move between cards (``navigate``)."""

    chosen = Signal(str)

    def __init__(self, summary: TemplateSummary, theme: Theme,
                 navigate: Callable[[TemplateCard, int], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = summary
        self._theme = theme
        self._navigate = navigate
        self._thumb: QPixmap | None = None
        self.setObjectName(f"template_{summary.name}")
        self.setFixedSize(CARD_W, CARD_H)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)
        self.setAccessibleName(f"{summary.title} template")
        self.setAccessibleDescription(summary.description)
        tip = summary.notes or summary.description
        self.setToolTip(plain_tooltip(f"{summary.title}\n\n{tip}\n\nClick to start a new "
                                      "project from this template."))
        self.clicked.connect(lambda: self.chosen.emit(self.summary.name))

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._thumb = None
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(CARD_W, CARD_H)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.click()
            return
        if self._navigate is not None and key in (Qt.Key.Key_Left, Qt.Key.Key_Right,
                                                  Qt.Key.Key_Up, Qt.Key.Key_Down):
            self._navigate(self, key)
            return
        super().keyPressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        t = self._theme
        s = self.summary
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(1.5, 1.5, -1.5, -1.5)
        hot = self.hasFocus() or self.underMouse()
        border = t.color("highlight") if hot else t.color("border")
        p.setPen(QPen(border, 2.0 if self.hasFocus() else 1.0))
        p.setBrush(t.color("base") if not self.isDown() else t.color("alt_base"))
        p.drawRoundedRect(rect, RADIUS, RADIUS)
        thumb_rect = QRectF(rect.left() + 6, rect.top() + 6, rect.width() - 12, THUMB_H)
        if self._thumb is None:
            self._thumb = render_thumbnail(s.project, thumb_rect.size().toSize(), t,
                                           self.devicePixelRatioF())
        p.drawPixmap(thumb_rect.topLeft(), self._thumb)
        x = int(rect.left()) + 14
        width = int(rect.width()) - 28
        y = int(thumb_rect.bottom()) + 10
        title_font = QFont(self.font())
        title_font.setBold(True)
        title_font.setPointSizeF(self.font().pointSizeF() * 1.1)
        p.setFont(title_font)
        p.setPen(t.color("text"))
        tfm = QFontMetrics(title_font)
        p.drawText(x, y + tfm.ascent(), tfm.elidedText(s.title, Qt.TextElideMode.ElideRight,
                                                       width))
        y += tfm.height() + 3
        p.setFont(self.font())
        fm = QFontMetrics(self.font())
        p.setPen(t.color("subtext"))
        for line in _wrap(s.description, fm, width, 2):
            p.drawText(x, y + fm.ascent(), line)
            y += fm.height()
        meta = f"{fmt_count(s.params)} parameters · {s.dataset}"
        p.setPen(t.color("text"))
        bottom = int(rect.bottom()) - 10
        p.drawText(x, bottom - fm.descent(), fm.elidedText(meta, Qt.TextElideMode.ElideRight,
                                                            width))
        p.end()
