"""TemplateGalleryDialog: start a new project empty or from an example in resources/examples."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.project import Project, ProjectError
from engine.templates import list_templates, load_template

NAME_ROLE = Qt.ItemDataRole.UserRole


@dataclass(frozen=True)
class TemplateInfo:
    name: str  # "" for the empty project
    title: str
    description: str
    blocks: int
    graphs: int


def describe_template(name: str, project: Project) -> TemplateInfo:
    blocks = sum(len(g.nodes) for g in project.graphs.values())
    first_line = next((ln.strip() for ln in project.notes.splitlines() if ln.strip()), "")
    kind = project.task.kind.replace("_", " ")
    description = first_line or f"A {kind} network."
    return TemplateInfo(name, project.name if project.name != "untitled" else name,
                        description, blocks, len(project.graphs))


def gallery_entries() -> list[tuple[TemplateInfo, str]]:
    """(info, problem) for the empty project and every template; a broken template is listed
    with its problem rather than hidden."""
    out: list[tuple[TemplateInfo, str]] = [
        (TemplateInfo("", "Empty project", "One empty graph named model.", 0, 1), "")]
    for name in list_templates():
        try:
            out.append((describe_template(name, load_template(name)), ""))
        except ProjectError as e:
            out.append((TemplateInfo(name, name, "", 0, 0), str(e)))
    return out


class TemplateGalleryDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New project")
        self.setMinimumSize(QSize(520, 420))
        intro = QLabel("Start from an example network or from an empty canvas.")
        self.list = QListWidget()
        self.list.setSpacing(2)
        self.list.setWordWrap(True)
        for info, problem in gallery_entries():
            if problem:
                text = f"{info.title}\n{problem}"
            else:
                size = (f"{info.blocks} blocks" + (f" in {info.graphs} graphs" if info.graphs > 1
                                                    else "")) if info.blocks else "no blocks"
                text = f"{info.title}  ·  {size}\n{info.description}"
            item = QListWidgetItem(text)
            item.setData(NAME_ROLE, info.name)
            if problem:
                item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)

    def chosen(self) -> str:
        """The chosen template name ("" for the empty project)."""
        item = self.list.currentItem()
        return item.data(NAME_ROLE) if item is not None else ""

    def select(self, name: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(NAME_ROLE) == name:
                self.list.setCurrentRow(i)
