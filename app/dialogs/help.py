"""UserGuideDialog: the user guide (docs/user-guide.md) rendered in the app.

The markdown is shown by QTextBrowser; images resolve relative to the guide's folder and are
scaled down to the page width. A side list of the headings jumps to a section; the search
field highlights every match and steps through them. Links to other pages of docs/ open in
the same viewer, web links in the browser.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QImage,
    QKeySequence,
    QResizeEvent,
    QShortcut,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from engine.errors import UserError
from engine.files import read_text

GUIDE = "user-guide.md"
BLOCK_ROLE = Qt.ItemDataRole.UserRole


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def docs_dir() -> Path:
    """docs/ of a source checkout, or of a PyInstaller bundle (next to resources/)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "docs"
    return Path(__file__).resolve().parents[2] / "docs"


def guide_path() -> Path:
    return docs_dir() / GUIDE


class GuideBrowser(QTextBrowser):
    """A QTextBrowser that keeps lines to a readable length (a centred column) and whose
    images never overflow it."""

    MAX_WIDTH = 940

    def side_margin(self) -> int:
        return max(0, (self.viewport().width() - self.MAX_WIDTH) // 2)

    def fit_column(self) -> None:
        root = self.document().rootFrame()
        fmt = root.frameFormat()
        side = self.side_margin()
        if int(fmt.leftMargin()) != side:
            fmt.setLeftMargin(side)
            fmt.setRightMargin(side)
            root.setFrameFormat(fmt)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_column()

    def loadResource(self, kind: int, url: QUrl | str) -> object:
        data = super().loadResource(kind, url)
        if kind == QTextDocument.ResourceType.ImageResource.value and data is not None:
            image = data if isinstance(data, QImage) else QImage.fromData(data)
            room = max(320, self.viewport().width() - 2 * self.side_margin() - 60)
            if not image.isNull() and image.width() > room:
                image = image.scaledToWidth(room, Qt.TransformationMode.SmoothTransformation)
            return image
        return data


class UserGuideDialog(QDialog):
    def __init__(self, path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("LayerForge User Guide")
        self.setObjectName("user_guide")
        self.resize(QSize(1100, 760))
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.path = Path(path) if path else guide_path()
        self.browser = GuideBrowser()
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._on_browser_anchor_clicked)
        self.browser.document().setDocumentMargin(24)
        self.contents = QListWidget()
        self.contents.setObjectName("guide_contents")
        self.contents.itemActivated.connect(self._on_contents_item_activated)
        self.contents.itemClicked.connect(self._on_contents_item_activated)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the guide")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_text_changed)
        self.search.returnPressed.connect(self.find_next)
        self.matches = QLabel()
        self.matches.setProperty("role", "muted")
        self.previous_button = QPushButton("Previous")
        self.next_button = QPushButton("Next")
        self.previous_button.clicked.connect(self.find_previous)
        self.next_button.clicked.connect(self.find_next)
        QShortcut(QKeySequence.StandardKey.Find, self, self._focus_search)
        QShortcut(QKeySequence.StandardKey.FindNext, self, self.find_next)
        QShortcut(QKeySequence.StandardKey.FindPrevious, self, self.find_previous)
        QShortcut(QKeySequence("Shift+Return"), self.search, self.find_previous)

        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.matches)
        bar.addWidget(self.previous_button)
        bar.addWidget(self.next_button)
        split = QSplitter()
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(QLabel("Contents"))
        side_layout.addWidget(self.contents)
        split.addWidget(side)
        split.addWidget(self.browser)
        split.setStretchFactor(1, 1)
        split.setSizes([260, 840])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self.load(self.path)

    # -- loading ---------------------------------------------------------------------------
    def load(self, path: Path) -> bool:
        """Show the markdown file at ``path`` (False, with a message, when it is missing)."""
        self.path = path
        try:
            text = read_text(path, UserError, what="a markdown page")
        except UserError as e:
            # an indented block shows the sentence literally (paths hold `_` and `*`)
            self.browser.setMarkdown(
                "# The user guide is not available\n\n"
                f"LayerForge could not read the page:\n\n    {e}\n\n"
                "The guide ships with LayerForge in `docs/user-guide.md`; a source checkout "
                "or a complete installation has it. Help > Keyboard Shortcuts lists every "
                "shortcut meanwhile.")
            self._fill_contents()
            return False
        folder = str(path.parent)
        self.browser.setSearchPaths([folder])
        self.browser.document().setBaseUrl(QUrl.fromLocalFile(folder + "/"))
        self.browser.setMarkdown(text)
        self.browser.fit_column()
        self.setWindowTitle(f"LayerForge User Guide — {path.stem}" if path.name != GUIDE
                            else "LayerForge User Guide")
        self._fill_contents()
        self._on_search_text_changed(self.search.text())
        return True

    def headings(self) -> list[tuple[int, str]]:
        """(level, text) of each heading, in order."""
        out = []
        block = self.browser.document().begin()
        while block.isValid():
            level = block.blockFormat().headingLevel()
            if level > 0 and block.text().strip():
                out.append((level, block.text().strip()))
            block = block.next()
        return out

    def _fill_contents(self) -> None:
        self.contents.clear()
        block = self.browser.document().begin()
        while block.isValid():
            level = block.blockFormat().headingLevel()
            if 0 < level <= 3 and block.text().strip():
                item = QListWidgetItem("    " * (level - 1) + block.text().strip())
                item.setData(BLOCK_ROLE, block.position())
                if level == 1:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.contents.addItem(item)
            block = block.next()

    def show_anchor(self, fragment: str) -> bool:
        """Jump to the heading a GitHub-style link (``#live-analysis``) names."""
        for i in range(self.contents.count()):
            item = self.contents.item(i)
            if slug(item.text()) == fragment.lower():
                self._on_contents_item_activated(item)
                return True
        self.browser.scrollToAnchor(fragment)
        return False

    def show_heading(self, text: str) -> bool:
        for i in range(self.contents.count()):
            item = self.contents.item(i)
            if item.text().strip() == text:
                self._on_contents_item_activated(item)
                return True
        return False

    # -- search ----------------------------------------------------------------------------
    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _on_search_text_changed(self, text: str) -> None:
        doc = self.browser.document()
        selections = []
        colour = QColor(self.palette().highlight().color())
        colour.setAlpha(90)
        if text:
            cursor = doc.find(text, 0)
            while not cursor.isNull() and len(selections) < 2000:
                sel = QTextEdit.ExtraSelection()
                sel.cursor = cursor
                fmt = QTextCharFormat()
                fmt.setBackground(colour)
                sel.format = fmt
                selections.append(sel)
                cursor = doc.find(text, cursor)
        self.browser.setExtraSelections(selections)
        self.matches.setText("" if not text else
                             f"{len(selections)} match{'es' if len(selections) != 1 else ''}")
        enabled = bool(selections)
        self.next_button.setEnabled(enabled)
        self.previous_button.setEnabled(enabled)
        if text and selections:
            cursor = self.browser.textCursor()
            cursor.setPosition(0)
            self.browser.setTextCursor(cursor)
            self.find_next()

    def find_next(self) -> bool:
        return self._find(QTextDocument.FindFlag(0))

    def find_previous(self) -> bool:
        return self._find(QTextDocument.FindFlag.FindBackward)

    def _find(self, flags: QTextDocument.FindFlag) -> bool:
        text = self.search.text()
        if not text:
            return False
        if self.browser.find(text, flags):
            return True
        cursor = self.browser.textCursor()  # wrap around
        cursor.movePosition(QTextCursor.MoveOperation.End
                            if flags & QTextDocument.FindFlag.FindBackward
                            else QTextCursor.MoveOperation.Start)
        self.browser.setTextCursor(cursor)
        return self.browser.find(text, flags)

    # -- navigation ------------------------------------------------------------------------
    def _on_contents_item_activated(self, item: QListWidgetItem) -> None:
        doc = self.browser.document()
        block = doc.findBlock(int(item.data(BLOCK_ROLE)))
        cursor = QTextCursor(block)
        self.browser.setTextCursor(cursor)
        top = doc.documentLayout().blockBoundingRect(block).top()
        self.browser.verticalScrollBar().setValue(int(top))

    def _on_browser_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
            return
        if url.hasFragment() and (not url.path() or url.path() == self.path.name):
            self.show_anchor(url.fragment())
            return
        target = (self.path.parent / url.path()).resolve() if not url.isLocalFile() \
            else Path(url.toLocalFile())
        if target.suffix == ".md":
            self.load(target)
        elif target.exists():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(target)))
