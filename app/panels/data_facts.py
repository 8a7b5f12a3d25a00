"""DataFactsWatcher: reads the facts of the project's data files in the background.

Built-in and downloadable sets need no reading (the document knows them at once). For data
in files (an image folder, IDX, CSV, text) the document's fit check waits for their facts;
this reads them whenever a project opens or its dataset changes, whether or not the Dataset
panel is on screen, so they are known when Train is pressed. An image folder is read by its
headers only; other files are loaded (off the GUI thread: that imports torch).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from app.document import GraphDocument
from app.panels.dataset_jobs import resolve_spec
from app.runs.jobs import Jobs
from engine.data.facts import reads_files
from engine.project import DatasetSpec


def _read_facts(spec: DatasetSpec) -> object:
    from engine.data.facts import data_facts

    return data_facts(spec)


class DataFactsWatcher(QObject):
    """Keeps ``document``'s data facts current for data in files."""

    def __init__(self, document: GraphDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.jobs = Jobs(self)
        self._asked: DatasetSpec | None = None  # the spec of the job in flight
        document.settings_changed.connect(self._on_document_settings_changed)
        document.project_replaced.connect(self.refresh)
        self.jobs.finished.connect(self._on_jobs_finished)
        self.jobs.failed.connect(self._on_jobs_failed)
        self.refresh()

    def refresh(self) -> None:
        """Read the facts of the project's data files unless they are known or being read."""
        spec = self.document.project.dataset
        if not reads_files(spec) or not self.document.data_facts_pending() or spec == self._asked:
            return
        path = self.document.path
        resolved = resolve_spec(spec, str(Path(path).parent) if path else None)
        self._asked = spec.model_copy(deep=True)
        self.jobs.submit(lambda _report: _read_facts(resolved))

    def shutdown(self) -> None:
        self.jobs.cancel()
        self.jobs.wait()

    def _on_document_settings_changed(self, section: str, _field: str) -> None:
        if section == "dataset":
            self.refresh()

    def _on_jobs_finished(self, facts: object) -> None:
        self._deliver(facts)  # type: ignore[arg-type]

    def _on_jobs_failed(self, message: str) -> None:
        self._deliver(message)

    def _deliver(self, facts: object) -> None:
        asked, self._asked = self._asked, None
        if asked is not None:
            self.document.set_data_facts(asked, facts)  # type: ignore[arg-type]
        self.refresh()  # the dataset may have changed while this was read
