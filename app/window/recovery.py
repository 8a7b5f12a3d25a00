"""Autosave to recovery files, and finding them again after a crash.

While a project has unsaved changes, ``AutosaveController`` writes it (atomically) to a
recovery file in the config folder, ``interval_ms`` after the first unsaved change. The file
is keyed by the project's path (or "untitled") and records the writer's pid; saving,
discarding or closing normally deletes it. A recovery file whose writer is no longer
running is what a crash left behind: the next start offers it back.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.document import GraphDocument
from engine.files import read_text
from engine.project import Project, ProjectError, atomic_write_text, parse_project
from engine.tempfiles import clean_stale_temps, pid_alive

SUFFIX = ".lforge.recovery"
DEFAULT_INTERVAL_MS = 30_000


@dataclass(frozen=True)
class Recovery:
    """A recovery file found on disk."""

    file: Path
    path: str | None  # the project file it belongs to; None for an untitled project
    saved_at: float
    pid: int

    def load(self) -> Project:
        """The recovered project; raises ProjectError if the file is unreadable or damaged."""
        text = read_text(self.file, ProjectError, what="a recovery file")
        try:
            project = json.loads(text)["project"]
        except (ValueError, KeyError, TypeError) as e:
            raise ProjectError(f"{self.file}: the recovery file is damaged ({e})") from None
        return parse_project(json.dumps(project), str(self.file))

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        return f"{Path(self.path).name if self.path else 'an untitled project'} (autosaved {when})"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own file from an earlier session that had this pid is stale
    return pid_alive(pid)


class RecoveryStore:
    """The folder of recovery files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        clean_stale_temps(folder)  # at start: temp files of autosaves that were killed

    def file_for(self, path: str | None) -> Path:
        if not path:
            return self.folder / f"untitled{SUFFIX}"
        full = str(Path(path).resolve())
        digest = hashlib.sha1(full.encode("utf-8")).hexdigest()[:12]
        return self.folder / f"{Path(path).stem[:40]}-{digest}{SUFFIX}"

    def write(self, doc: GraphDocument) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.file_for(doc.path)
        envelope = {"layerforge_recovery": 1, "path": doc.path, "saved_at": time.time(),
                    "pid": os.getpid(), "project": json.loads(doc.to_json())}
        atomic_write_text(target, json.dumps(envelope, indent=1) + "\n")
        return target

    def remove(self, path: str | None) -> None:
        try:
            self.file_for(path).unlink()
        except FileNotFoundError:
            pass

    def orphans(self) -> list[Recovery]:
        """Recovery files whose writer is gone, newest first."""
        found = []
        for f in self.folder.glob(f"*{SUFFIX}") if self.folder.is_dir() else []:
            try:
                data = json.loads(f.read_text(encoding="utf-8"))
                rec = Recovery(f, data.get("path"), float(data.get("saved_at", 0)),
                               int(data.get("pid", 0)))
            except (OSError, ValueError, TypeError, AttributeError):
                continue
            if not _alive(rec.pid):
                found.append(rec)
        return sorted(found, key=lambda r: r.saved_at, reverse=True)

    def find(self, path: str | None) -> Recovery | None:
        """The crash leftover for ``path``, or with no path the newest leftover of any."""
        orphans = self.orphans()
        if path is None:
            return orphans[0] if orphans else None
        want = self.file_for(path)
        return next((r for r in orphans if r.file == want), None)


class AutosaveController(QObject):
    """Writes the document to its recovery file after ``interval_ms`` of unsaved change."""

    autosaved = Signal(str)

    def __init__(self, doc: GraphDocument, store: RecoveryStore, interval_ms: int,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.store = store
        self._written_for: str | None = None
        self._wrote = False
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(max(10, interval_ms))
        self.timer.timeout.connect(self._on_timer_timeout)
        doc.edited.connect(self._on_document_edited)
        doc.dirty_changed.connect(self._on_document_dirty_changed)
        doc.path_changed.connect(self._on_document_path_changed)
        doc.project_replaced.connect(self._on_document_project_replaced)

    def stop(self) -> None:
        self.timer.stop()

    def discard(self) -> None:
        """Forget the recovery file of the current project (saved, discarded or closed)."""
        self.timer.stop()
        self.store.remove(self.doc.path)
        if self._wrote and self._written_for != self.doc.path:
            self.store.remove(self._written_for)
        self._wrote = False

    def adopt(self, path: str | None) -> None:
        """Treat the recovery file of ``path`` as ours (it was just restored), so saving or
        closing removes it even if this session never autosaves."""
        self._written_for, self._wrote = path, True

    def _arm(self) -> None:
        # Started by the first unsaved change and not restarted by later ones, so steady
        # editing is still saved every interval.
        if self.doc.is_dirty() and not self.timer.isActive():
            self.timer.start()

    def _on_document_edited(self) -> None:
        self._arm()

    def _on_document_dirty_changed(self, dirty: bool) -> None:
        if dirty:
            self._arm()
        else:
            self.discard()

    def _on_document_path_changed(self, _path: str) -> None:
        if self._wrote:
            self.store.remove(self._written_for)  # the project moved: its file will follow
            self._wrote = False
        self._arm()

    def _on_document_project_replaced(self) -> None:
        self.timer.stop()
        self._arm()  # a restored recovery is dirty and gets saved again on schedule

    def _on_timer_timeout(self) -> None:
        if not self.doc.is_dirty():
            return
        try:
            written = self.store.write(self.doc)
        except ProjectError:
            return  # a full disk must not interrupt editing; the next change tries again
        self._written_for, self._wrote = self.doc.path, True
        self.autosaved.emit(str(written))
