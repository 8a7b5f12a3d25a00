"""Pretrained backbones and initialising weights in the editor.

The palette lists the zoo's entries and the project's composites (this feature keeps the
Composites family current). Dropping a backbone on a canvas (``CanvasTabs.pretrained_dropped``)
or "Add to Model" on its card fetches its weights in the background, with a progress dialog
showing the bytes and a Cancel button, then inserts the composite with the dataset's image
size and normalisation set to the checkpoint's (``GraphDocument.insert_composite``, one undo
step). Cancelled: nothing changes. The fetch failed (offline and not cached, for one): the
sentence says why, and the block may be added anyway; its weights are then fetched when
training starts. File > Initialise Weights from… sets ``training.init_from`` to a run folder
or a .safetensors file.

``fetch`` (default ``engine.zoo.hub.fetch``) is injected so tests can give a slow or failing
fake; it runs on a :class:`app.runs.jobs.Jobs` thread and its ``progress(done, total)`` calls
reach the GUI thread through that job runner's hop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPointF, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog

from app.canvas.placement import free_centre
from app.document import EditError
from app.panels.hyperparams_finetune import init_source
from app.runs.jobs import Jobs, Report
from app.text import fmt_bytes, fmt_count

if TYPE_CHECKING:
    from app.canvas.tabs import CanvasTabs
    from app.dialogs.pretrained_card import PretrainedCard
    from app.document import GraphDocument
    from app.panels.palette import PalettePanel
    from app.window.main_window import MainWindow
    from engine.project import Graph
    from engine.zoo.catalog import ZooEntry

#: ``fetch(repo, revision, filenames, *, progress, cancel) -> paths`` (engine.zoo.hub.fetch)
Fetch = Callable[..., Any]
PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress updates a second reach the GUI


def default_fetch(*args: Any, **kwargs: Any) -> Any:
    from engine.zoo.hub import fetch

    return fetch(*args, **kwargs)


def weights_cached(entry: ZooEntry) -> bool:
    """Whether the entry's weights file is in the Hugging Face cache (no network)."""
    from engine.zoo.hub import is_cached

    return is_cached(entry.repo, entry.revision, entry.file)


def composite_tooltip(name: str, graph: Graph, uses: int) -> str:
    blocks = sum(1 for n in graph.nodes if n.type not in ("Input", "Output"))
    title = graph.info.title if graph.info is not None and graph.info.title else ""
    head = f"{name} ({title})" if title else name
    return (f"{head}: a composite of {blocks} blocks, used {uses} time(s). Drag it onto a "
            "canvas for another use (each use has its own weights).")


def composite_entries(graphs: dict[str, Graph]) -> list[tuple[str, str]]:
    """The project's composites (graphs a Group node refers to), with tooltips."""
    from engine.composite import uses

    return [(name, composite_tooltip(name, graphs[name], len(found)))
            for name, found in sorted(uses(graphs).items()) if name in graphs and found]


class PretrainedFeature(QObject):
    """Owns the zoo's palette families, the cards, the weight downloads and File >
    Initialise Weights from…"""

    def __init__(self, window: MainWindow, document: GraphDocument, tabs: CanvasTabs,
                 palette: PalettePanel, *, before: QAction, fetch: Fetch | None = None,
                 entries: Sequence[ZooEntry] | None = None,
                 pick_init: Callable[[], str | None] | None = None,
                 pick_weights: Callable[[], str | None] | None = None) -> None:
        super().__init__(window)
        self.window, self.document, self.tabs, self.palette = window, document, tabs, palette
        self.fetch: Fetch = fetch or default_fetch
        if entries is None:
            from engine.zoo.catalog import ENTRIES as entries
        self.entries: dict[str, ZooEntry] = {e.key: e for e in entries}
        self.pick_init = pick_init or self._pick_init_dialog
        self.jobs = Jobs(self)
        self.cache_jobs = Jobs(self)
        self.local_jobs = Jobs(self)  # checking a local weights file
        self.pick_weights = pick_weights or self._pick_weights_dialog
        self.progress: QProgressDialog | None = None
        self.card: PretrainedCard | None = None
        #: the request in flight: (entry key, parent graph or "" for download only, position)
        self._request: tuple[str, str, tuple[float, float] | None] | None = None
        self._cancel = threading.Event()
        self._closed = False  # after shutdown: results still on their way are ignored
        self._token = 0  # the request whose progress the dialog shows
        self.init_action = QAction("Initialise &Weights from…", window)
        self.init_action.setStatusTip("Start training from a run's weights or a .safetensors "
                                      "file: blocks matching by id and shape take them")
        window.menus["file"].insertAction(before, self.init_action)
        window.menus["file"].insertSeparator(before)
        palette.set_pretrained(self.entries.values())
        self.init_action.triggered.connect(self.choose_init_from)
        palette.pretrained_activated.connect(self.show_card)
        palette.pretrained_add_requested.connect(self._on_palette_pretrained_add_requested)
        palette.composite_activated.connect(self.add_composite_use)
        palette.composite_open_requested.connect(self._on_palette_composite_open_requested)
        tabs.pretrained_dropped.connect(self._on_tabs_pretrained_dropped)
        self.local_jobs.finished.connect(self._on_local_jobs_finished)
        self.local_jobs.failed.connect(self._on_local_jobs_failed)
        self.jobs.finished.connect(self._on_jobs_finished)
        self.jobs.failed.connect(self._on_jobs_failed)
        self.cache_jobs.finished.connect(self._on_cache_jobs_finished)
        document.edited.connect(self.refresh_composites)
        document.project_replaced.connect(self._on_document_project_replaced)
        self.refresh_composites()

    # -- the palette -------------------------------------------------------------------
    def refresh_composites(self) -> None:
        self.palette.set_composites(composite_entries(self.document.project.graphs))

    def add_composite_use(self, name: str) -> str | None:
        """Another Group node using the composite ``name``, in the middle of the current
        canvas (refused in the composite's own graph)."""
        graph = self.tabs.current_graph()
        if graph == name:
            self._message(f"The composite {name!r} cannot contain itself: add it to another "
                          "graph's tab.")
            return None
        view = self.tabs.current_view()
        try:
            return view.add_composite_at(name, free_centre(view, "Group"))
        except EditError as e:
            self._message(str(e))
            return None

    # -- the card ----------------------------------------------------------------------
    def show_card(self, key: str) -> PretrainedCard | None:
        from app.dialogs.pretrained_card import PretrainedCard

        entry = self.entries.get(key)
        if entry is None:
            return None
        if self.card is not None:
            self.card.close()
            self.card.deleteLater()
        self.card = card = PretrainedCard(entry, None, self.window)
        card.add_requested.connect(lambda k: self.add_pretrained(k))
        card.download_requested.connect(self.download)
        card.local_requested.connect(lambda k: self.add_local(k))
        card.show()
        self.cache_jobs.submit(lambda _report: (key, weights_cached(entry)))
        return card

    def _on_cache_jobs_finished(self, result: object) -> None:
        key, cached = result  # type: ignore[misc]
        if self.card is not None and self.card.entry.key == key:
            self.card.set_cached(bool(cached))

    # -- fetching and adding ------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._request is not None

    def add_pretrained(self, key: str, graph: str = "",
                       position: tuple[float, float] | None = None) -> bool:
        """Fetch the weights of zoo entry ``key`` (background, progress and Cancel), then
        add it to ``graph`` (default: the model graph) centred on the scene point
        ``position`` (default: free space in the middle of that canvas). False when nothing
        was started."""
        graph = graph or self._model_graph()
        return self._start(key, graph, position)

    def add_local(self, key: str, graph: str = "", path: str | None = None) -> bool:
        """Add zoo entry ``key`` with its weights from a local .safetensors file (asked for
        when ``path`` is None), checked in the background first. False when nothing started."""
        entry = self.entries.get(key)
        if entry is None or self.local_jobs.busy:
            return False
        path = path if path is not None else self.pick_weights()
        if not path:
            return False
        graph = graph or self._model_graph()

        def job(_report: Report) -> tuple[str, str, Graph]:
            from engine.zoo.catalog import composite_graph, local_weights

            ref = local_weights(entry, path)
            return key, graph, composite_graph(entry).model_copy(update={"weights": ref})

        self._message(f"Checking {path}…")
        self.local_jobs.submit(job)
        return True

    def _on_local_jobs_finished(self, result: object) -> None:
        if self._closed:
            return
        key, graph, built = result  # type: ignore[misc]
        self._insert(key, built, graph, None)

    def _on_local_jobs_failed(self, message: str) -> None:
        if self._closed:
            return
        QMessageBox.warning(self.window, "Use Local Weights", message)

    def _pick_weights_dialog(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Weights of the Backbone", "",
                                              "safetensors (*.safetensors)")
        return path or None

    def download(self, key: str) -> bool:
        """Fetch the weights of ``key`` into the cache only."""
        return self._start(key, "", None)

    def cancel(self) -> None:
        """Stop the download in flight (the fetch notices within one chunk)."""
        self._cancel.set()
        if self.progress is not None:
            self.progress.setLabelText("Cancelling…")

    def _start(self, key: str, graph: str, position: tuple[float, float] | None) -> bool:
        entry = self.entries.get(key)
        if entry is None:
            self._message(f"There is no pretrained backbone named {key!r}.")
            return False
        if self.busy:
            self._message("Weights are already downloading: wait for them or cancel.")
            return False
        self._request = (key, graph, position)
        self._cancel = cancel = threading.Event()
        self._show_progress(entry)
        fetch, hop = self.fetch, self.jobs.hop
        self._token += 1
        token = self._token

        def job(_report: Report) -> Graph:
            from engine.zoo.catalog import composite_graph

            built = composite_graph(entry)
            file, sha = entry.file, built.weights.sha256 if built.weights is not None else ""
            last = [0.0]

            def progress(done: int, total: int) -> None:
                now = time.monotonic()
                if now - last[0] >= PROGRESS_INTERVAL_S or (total and done >= total):
                    last[0] = now
                    hop.post(self._on_progress, token, int(done), int(total))

            paths = fetch(entry.repo, entry.revision, [file], progress=progress,
                          cancel=cancel.is_set, sha256={file: sha} if sha else None)
            return _pinned(entry, built, paths)

        self.jobs.submit(job)
        return True

    def _show_progress(self, entry: ZooEntry) -> None:
        dialog = QProgressDialog(f"Downloading the {entry.title} weights from {entry.repo}…",
                                 "Cancel", 0, 0, self.window)
        dialog.setWindowTitle("Downloading Weights")
        # not modal: the editor stays usable meanwhile (and a modal dialog's setValue
        # would run the event loop inside _on_progress)
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumDuration(0)
        dialog.setMinimumWidth(420)
        dialog.canceled.connect(self.cancel)
        dialog.show()
        self.progress = dialog

    def _on_progress(self, token: int, done: int, total: int) -> None:
        dialog = self.progress
        if token != self._token or dialog is None or self._cancel.is_set() or not self._request:
            return
        title = self.entries[self._request[0]].title
        if total > 0:
            dialog.setLabelText(f"Downloading the {title} weights: "
                                f"{fmt_bytes(done)} of {fmt_bytes(total)}")
            dialog.setMaximum(max(1, total // 1024))
            dialog.setValue(min(done, total) // 1024)
        else:
            dialog.setLabelText(f"Downloading the {title} weights: {fmt_bytes(done)}")

    def _end(self) -> tuple[str, str, tuple[float, float] | None]:
        request, self._request = self._request, None
        if self.progress is not None:
            self.progress.canceled.disconnect(self.cancel)
            self.progress.close()
            self.progress.deleteLater()
            self.progress = None
        assert request is not None
        return request

    def _on_jobs_finished(self, result: object) -> None:
        if self._closed:
            return
        key, graph, position = self._end()
        if self._cancel.is_set():  # cancelled after the last byte: still nothing changes
            self._message("Download cancelled; nothing was added.")
            return
        if self.card is not None and self.card.entry.key == key:
            self.card.set_cached(True)
        if graph:
            self._insert(key, result, graph, position)  # type: ignore[arg-type]
        else:
            self._message(f"{self.entries[key].title} weights downloaded.")

    def _on_jobs_failed(self, message: str) -> None:
        if self._closed:
            return
        key, graph, position = self._end()
        if self._cancel.is_set():
            self._message("Download cancelled; nothing was added.")
            return
        entry = self.entries[key]
        if not graph:
            QMessageBox.warning(self.window, "Download Weights", message)
            return
        if self.ask_add_anyway(entry, message):
            from engine.zoo.catalog import composite_graph

            self._insert(key, composite_graph(entry), graph, position)

    def ask_add_anyway(self, entry: ZooEntry, message: str) -> bool:
        """The weights could not be fetched: add the block all the same?"""
        box = QMessageBox(QMessageBox.Icon.Warning, "Weights Not Available",
                          f"The {entry.title} weights could not be fetched: {message}\n\n"
                          "You can add the block anyway: its weights are fetched when "
                          "training starts (the Hugging Face Hub must be reachable then).",
                          parent=self.window)
        box.setTextFormat(Qt.TextFormat.PlainText)
        add = box.addButton("Add Anyway", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is add

    def _insert(self, key: str, built: Graph, graph: str,
                position: tuple[float, float] | None) -> tuple[str, str] | None:
        entry = self.entries[key]
        if graph not in self.document.project.graphs:
            graph = self._model_graph()
        view = self.tabs.show_graph(graph)
        centre = free_centre(view, "Group") if position is None else QPointF(*position)
        pre = built.preprocess
        dataset = None if pre is None else {
            "image_size": pre.image_size, "mean": list(pre.mean), "std": list(pre.std),
            "normalize": True}
        try:
            name, nid = self.document.insert_composite(graph, entry.key, built,
                                                       view.block_origin(centre),
                                                       dataset=dataset)
        except EditError as e:
            self._message(str(e))
            return None
        view.graph_scene.select_nodes([nid])
        self._message(f"Added {entry.title} ({fmt_count(entry.params)} parameters) as "
                      f"{nid!r}; the dataset now uses its image size and normalisation.")
        return name, nid

    def _model_graph(self) -> str:
        graphs = self.document.project.graphs
        if "model" in graphs:
            return "model"
        current = self.tabs.current_graph()
        return current if current in graphs else next(iter(graphs))

    # -- initialising from a file -------------------------------------------------------
    def choose_init_from(self) -> str | None:
        """Pick a run folder or a .safetensors file for ``training.init_from`` (one step)."""
        path = self.pick_init()
        if not path:
            return None
        value = init_source(path)
        try:
            self.document.set_field("training", "init_from", value)
        except EditError as e:
            self._message(str(e))
            return None
        self._message(f"Training starts from the weights in {value}")
        return value

    def _pick_init_dialog(self) -> str | None:
        path, _filter = QFileDialog.getOpenFileName(
            self.window, "Initialise Weights from",
            "", "Weights (*.safetensors);;A run's project snapshot (project.lforge);;"
                "All files (*)")
        return path or None

    # -- signal handlers -----------------------------------------------------------------
    def _on_palette_pretrained_add_requested(self, key: str) -> None:
        self.add_pretrained(key)

    def _on_palette_composite_open_requested(self, name: str) -> None:
        if name in self.tabs.views:
            self.tabs.show_graph(name)

    def _on_document_project_replaced(self) -> None:
        self.refresh_composites()
        if self._request is not None:  # the download goes on into the cache, adding nothing
            self._request = (self._request[0], "", None)

    def _on_tabs_pretrained_dropped(self, key: str, graph: str, x: float, y: float) -> None:
        self.add_pretrained(key, graph, (x, y))

    def _message(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 8000)

    def shutdown(self) -> None:
        """Stop a download (its thread notices the cancel) and wait for the jobs. A result
        already on its way to the GUI thread is then ignored (no dialog after the close)."""
        self._closed = True
        self._cancel.set()
        for jobs in (self.jobs, self.cache_jobs, self.local_jobs):
            jobs.cancel()
            jobs.wait()
        if self.progress is not None:
            self.progress.close()
        if self.card is not None:
            self.card.close()


def _pinned(entry: ZooEntry, built: Graph, paths: object) -> Graph:
    """The backbone with its weights pinned to the commit and sha256 actually fetched (an
    entry at "main" is then reproducible), when the fetch says where the file is."""
    if not isinstance(paths, list | tuple) or not paths or not Path(str(paths[-1])).is_file():
        return built
    from engine.zoo import hub
    from engine.zoo.catalog import weights_of

    path = Path(str(paths[-1]))
    commit = hub.resolved_commit(path) or entry.revision
    ref = weights_of(entry, hub.blob_sha256(path)).model_copy(update={"revision": commit})
    return built.model_copy(update={"weights": ref})
