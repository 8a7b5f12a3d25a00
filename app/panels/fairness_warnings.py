"""DatasetWarnings: the Dataset panel's warnings before training: classes much rarer
than others and groups (the project's fairness groupings) that the training split holds
few samples of, as :func:`engine.fairness.dataset_warnings` words them.

They are computed from the data the panel's preview loaded (its cache's bundle); for the
kinds whose preview reads only a sample of the files, from the files' listing and the
groupings' own files (nothing is decoded for a warning: see the engine's function), on a
background job, whenever a preview is shown and whenever the groupings change; a change
of the data set clears them until its preview arrives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.runs.jobs import Jobs

if TYPE_CHECKING:
    from app.panels.dataset import DatasetPanel
    from engine.project import Project


def _warnings(project: Project, bundle: Any) -> list[str]:
    from engine.fairness import dataset_warnings

    return dataset_warnings(project, bundle)


class DatasetWarnings(QLabel):
    """A label under the preview; empty (hidden) when there is nothing to warn about."""

    def __init__(self, panel: DatasetPanel) -> None:
        super().__init__()
        self.setTextFormat(Qt.TextFormat.PlainText)  # group names are the user's text
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setProperty("role", "error")
        self.setObjectName("DatasetWarnings")
        self.panel = panel
        self.sentences: list[str] = []
        self.jobs = Jobs(self)
        self.hide()
        panel.preview_updated.connect(self.refresh)
        panel.document.settings_changed.connect(self._on_document_settings_changed)
        panel.document.project_replaced.connect(self.clear_all)
        self.jobs.finished.connect(self._on_jobs_finished)
        self.jobs.failed.connect(self._on_jobs_failed)

    def refresh(self) -> None:
        """Warn about the data the preview shows (background job)."""
        panel = self.panel
        spec = panel.resolved_spec()
        cache = panel.cache
        bundle = cache.bundle if cache.key == spec.model_dump_json() else None
        shown = panel.preview is not None and panel.preview.spec == spec
        if bundle is None and not shown:  # no preview of this data set yet
            self.clear_all()
            return
        # texts, image and sound sets preview without the cache (None): nothing is loaded
        project = panel.document.project.model_copy(update={"dataset": spec}, deep=True)
        self.jobs.submit(lambda _report: _warnings(project, bundle))

    def clear_all(self) -> None:
        self.jobs.cancel()
        self._show([])

    def shutdown(self) -> None:
        self.jobs.cancel()
        self.jobs.wait()

    def _show(self, sentences: list[str]) -> None:
        self.sentences = list(sentences)
        self.setText("\n".join(f"⚠ {s}" for s in sentences))
        self.setVisible(bool(sentences))

    def _on_document_settings_changed(self, section: str, _name: str) -> None:
        if section == "fairness":
            self.refresh()
        elif section == "dataset":
            self.clear_all()  # about the data set before; its preview brings new ones

    def _on_jobs_finished(self, result: object) -> None:
        self._show(list(result))  # type: ignore[call-overload]

    def _on_jobs_failed(self, message: str) -> None:
        self._show([message])
