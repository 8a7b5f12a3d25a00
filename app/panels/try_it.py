"""TryItPanel: the "Try it" tab of the Evaluate perspective, where the user gives a
trained run an input of their own and sees its answer.

The header names the run and what it takes ("lenet5 on digits: 28x28 grayscale images,
10 classes"); below, the input page for the run's kind (``try_it_inputs``,
``try_it_lang``) beside the
answer (``try_it_output``). The input is prepared by the engine exactly as the run's data
was (:func:`engine.train.predict.predict`), on a background job, with the run opened from
its weights and data.json alone (``try_results.ModelCache``).
One question is answered at a time and the latest wins: inputs that come while one is
being answered (a drawing's strokes) wait, and only the newest of them is asked next.
Anything the engine refuses (not an image, the wrong number of values) shows its sentence
in the panel. Nothing of a previous run stays when the run or the project changes.

``show_run(run_dir)`` / ``on_event(event)`` / ``reset()`` as the other result views.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.panels.run_results import RunCache
from app.panels.try_it_inputs import ImagePage, InputPage, VectorPage
from app.panels.try_it_lang import LanguagePage, SoundPage, TextPage
from app.panels.try_it_output import AnswerView
from app.panels.try_results import (
    NO_RUN,
    ModelCache,
    TryAnswer,
    TryFacts,
    answer,
    no_input,
    read_facts,
)
from app.runs.jobs import Jobs
from app.widgets.labels import plain_label
from engine.errors import user_message
from engine.train.events import Event, Finished, RunStarted, Stopped

#: what the panel says while a run trains
TRAINING = "Training {name}… Try it when the run has finished."
#: the input page for each predict kind
PAGES: dict[str, type[InputPage]] = {
    "image": ImagePage, "segmentation": ImagePage, "detection": ImagePage,
    "vector": VectorPage, "regression": VectorPage, "text": TextPage, "seq2seq": TextPage,
    "language": LanguagePage, "sound": SoundPage, "speech": SoundPage}


class TryItPanel(QScrollArea):
    """The Try it tab; ``cache`` opens the runs (a ModelCache unless given, e.g. a
    RunCache that opens them with their data)."""

    def __init__(self, cache: RunCache | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TryItPanel")
        self.cache = cache if cache is not None else ModelCache()
        self.run_dir: str | None = None
        self.facts: TryFacts | None = None
        self.answer: TryAnswer | None = None  # the answer shown
        self.jobs = Jobs(self)
        self._serial = 0  # questions asked; an answer names the question it is for
        self._pending: tuple[Any, dict[str, Any]] | None = None  # waits for the job in flight
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAcceptDrops(True)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(10, 8, 10, 8)
        self.title = plain_label(NO_RUN)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.status = plain_label(role="muted")
        self.error = plain_label(role="error")
        self.error.hide()
        lay.addWidget(self.title)
        self.pages: dict[type, InputPage] = {}
        self.stack = QStackedWidget()
        self.empty = QWidget()
        self.stack.addWidget(self.empty)
        for cls in dict.fromkeys(PAGES.values()):
            page = cls()
            page.asked.connect(self._on_page_asked)
            page.refused.connect(self._on_page_refused)
            self.stack.addWidget(page)
            self.pages[cls] = page
        self.output = AnswerView()
        self.body_row = QWidget()
        row = QHBoxLayout(self.body_row)
        row.setContentsMargins(0, 6, 0, 0)
        row.setSpacing(24)
        left = QVBoxLayout()
        left.addWidget(self.stack)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.status)
        right.addWidget(self.error)
        right.addWidget(self.output)
        right.addStretch(1)
        row.addLayout(left, 2)
        row.addLayout(right, 3)
        lay.addWidget(self.body_row, 1)
        self.setWidget(body)
        self.paste_shortcut = QShortcut(QKeySequence.StandardKey.Paste, self)
        self.paste_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.paste_shortcut.activated.connect(self._on_paste_shortcut_activated)
        self.jobs.finished.connect(self._on_jobs_finished)
        self.jobs.failed.connect(self._on_jobs_failed)
        self.jobs.busy_changed.connect(self._on_jobs_busy_changed)
        self._show_page(None)

    # -- the contract with the run side ------------------------------------------------
    def show_run(self, run_dir: str | None) -> None:
        """Take inputs for the run at ``run_dir`` (None: no run)."""
        if run_dir is None:
            self.reset()
            return
        run_dir = str(run_dir)
        if run_dir != self.run_dir:
            self._forget()
        self.run_dir, before = run_dir, self.facts
        try:
            facts = read_facts(run_dir)
        except Exception as e:  # not a run folder any more, a damaged snapshot
            self.facts = None
            self.title.setText(Path(run_dir).name)
            self._show_page(None)
            self._fail(user_message(e))
            return
        self.facts = facts
        self.title.setText(facts.header)
        self.error.hide()
        page = self._show_page(facts)
        self.output.set_rate(facts.sample_rate)
        if page is None:
            self._say(no_input(facts))
            return
        if facts.problem:  # no weights yet, no record of its data
            self._show_page(None)
            self._say(facts.problem[0].upper() + facts.problem[1:])
            return
        if facts != before:  # the same run shown again keeps what was typed or drawn
            page.configure(facts)
        if self.answer is None:
            self._say(_hint(facts))

    def on_event(self, event: Event) -> None:
        """RunStarted: the new run cannot be tried until it ends; Finished or Stopped: it
        can, with its final weights."""
        match event:
            case RunStarted(run_dir=run_dir) if run_dir:
                self._forget()
                self.run_dir, self.facts = run_dir, None
                self.title.setText(TRAINING.format(name=Path(run_dir).name))
                self._show_page(None)
            case Finished() | Stopped() if self.run_dir:
                run_dir, self.run_dir = self.run_dir, None
                self.show_run(run_dir)

    def reset(self) -> None:
        """No run (another project): nothing of the previous one stays."""
        self._forget()
        self.run_dir, self.facts = None, None
        self.title.setText(NO_RUN)
        self._show_page(None)

    def restyle(self) -> None:
        self.output.restyle()

    def shutdown(self) -> None:
        self.jobs.cancel()
        self._pending = None
        self.jobs.wait()
        self.output.shutdown()

    # -- asking ------------------------------------------------------------------------
    def ask(self, value: Any) -> None:
        """Ask the run about ``value`` (what the page emits); the answer is shown when it
        comes, unless another question was asked since."""
        page = self.current_page()
        if self.run_dir is None or self.facts is None or page is None:
            return
        self._serial += 1
        page.took(value)
        self._pending = (value, page.options())
        if not self.jobs.busy:
            self._submit()

    def focus_input(self) -> None:
        """Put the keyboard focus in the page's input (the user came to try something)."""
        page = self.current_page()
        if page is not None:
            page.focus_input()

    def current_page(self) -> InputPage | None:
        page = self.stack.currentWidget()
        return page if isinstance(page, InputPage) else None

    def _submit(self) -> None:
        if self._pending is None or self.run_dir is None:
            return
        (value, options), self._pending = self._pending, None
        cache, run_dir, serial = self.cache, self.run_dir, self._serial
        self.error.hide()
        loaded = self.answer is not None and self.answer.run_dir == run_dir
        self._say("Working…" if loaded else "Loading the model and answering…")

        def job(_report: Any) -> TryAnswer:
            start = time.perf_counter()
            result = answer(cache, run_dir, value, **options)
            return TryAnswer(run_dir, serial, result, time.perf_counter() - start, options)

        self.jobs.submit(job)

    def _on_page_asked(self, value: object) -> None:
        self.ask(value)

    def _on_page_refused(self, message: str) -> None:
        self._fail(message)

    def _on_jobs_busy_changed(self, busy: bool) -> None:
        if not busy and self._pending is not None:
            self._submit()  # the newest input that came while the last was answered

    def _on_jobs_finished(self, result: object) -> None:
        assert isinstance(result, TryAnswer)
        if result.run_dir != self.run_dir or self.facts is None:
            return
        self.answer = result
        self._say("" if self._pending is None else "Working…")
        self.error.hide()
        self.output.show_answer(result.result, self.facts.classes, result.seconds,
                                kind=self.facts.kind, beam=result.options.get("beam_width"))

    def _on_jobs_failed(self, message: str) -> None:
        if self.run_dir is not None:
            self._fail(message)

    def _say(self, text: str) -> None:
        """The muted line above the answer (hidden when empty, so the answer sits level
        with the input)."""
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def _fail(self, message: str) -> None:
        """The engine's sentence (or the page's) where the answer was."""
        self._say("")
        self.output.clear_all()
        self.error.setText(message)
        self.error.show()

    # -- input from outside the page: drops and Ctrl+V --------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        data = event.mimeData()
        if self._takes_files() and (data.hasUrls() or data.hasImage()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if self._takes_files():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        data = event.mimeData()
        files = [u.toLocalFile() for u in data.urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.ask(files[0])
        elif data.hasImage():
            event.acceptProposedAction()
            page = self.current_page()
            if isinstance(page, ImagePage):
                page.paste()

    def _takes_files(self) -> bool:
        return self.facts is not None and self.facts.kind in (
            "image", "segmentation", "detection", "sound", "speech", "regression")

    def _on_paste_shortcut_activated(self) -> None:
        """Ctrl+V over the panel: in a text field it pastes there, as anywhere; elsewhere
        it gives the page the clipboard (an image, a file's path, a row of numbers)."""
        from PySide6.QtWidgets import QApplication

        focus = QApplication.focusWidget()
        if isinstance(focus, QLineEdit | QAbstractSpinBox):
            if isinstance(focus, QLineEdit):
                focus.paste()
            return
        page = self.current_page()
        if isinstance(page, ImagePage):
            page.paste()
        elif page is not None:
            page.paste_text(QApplication.clipboard().text())

    # -- helpers -----------------------------------------------------------------------
    def _forget(self) -> None:
        """Drop the answer shown and any question being answered (another run)."""
        self.jobs.cancel()
        self._pending = None
        self.answer = None
        self.output.clear_all()
        self._say("")
        self.error.clear()
        self.error.hide()
        for page in self.pages.values():
            page.clear()

    def _show_page(self, facts: TryFacts | None) -> InputPage | None:
        """The input page for ``facts`` (None, or a run that takes no input: none)."""
        kind = "" if facts is None else ("image" if facts.is_image else facts.kind)
        cls = PAGES.get(kind)
        page = self.pages.get(cls) if cls is not None else None
        self.stack.setCurrentWidget(page if page is not None else self.empty)
        self.output.setVisible(page is not None)
        return page


def _hint(facts: TryFacts) -> str:
    """The line under the header before the first answer."""
    if facts.is_image:
        draw = "draw one, " if facts.drawable else ""
        return f"Open an image, {draw}drop one here or paste one (Ctrl+V) to see the answer."
    return {
        "vector": "Type a row of numbers (or paste one) and press Predict.",
        "regression": "Type a row of numbers (or paste one) and press Predict.",
        "text": "Type a text and press Enter.",
        "seq2seq": "Type a text and press Enter.",
        "language": "Type the start of a text and press Generate.",
        "sound": "Open or drop a sound file.",
        "speech": "Open or drop a recording of speech.",
    }.get(facts.kind, "")
