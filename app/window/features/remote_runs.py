"""The training feature's runs on SSH hosts and Slurm clusters: the sessions that start,
resume and attach to them (asking about unknown host keys in the GUI thread), Download of a
run's files, following a detached run again when a project opens, and what Stop says for a
Slurm job (it is cancelled with scancel). A queued Slurm job's status line comes from the
session's ``Status(state="queued", text=...)``; the Runs list reads the job's state from the
runs index (:mod:`app.runs.slurm_runs`).

:class:`RemoteRuns` is a part of :class:`~app.window.features.training.TrainingFeature`,
given its collaborators when built: the window, the Runs list, and the feature's own
functions to submit a run, to say something, to show a message on the Training panel, to
refresh the Runs list, to name the run being followed and to show a run's results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMainWindow

from app.dialogs.host_key import HostKeyAsker
from app.panels.runs import RunsPanel
from app.runs.history import RunSummary
from app.runs.jobs import Jobs
from app.runs.records import remote_host
from app.runs.runner import SourceFactory

#: the Runs list's states of a remote run that may still be going (queued: a Slurm job
#: waiting for the scheduler), followed again when the project opens
FOLLOWABLE = ("detached", "queued")
#: submit(factory, run_dir, status): hand a run to the runner; False when refused
Submit = Callable[[SourceFactory, str, str], bool]
#: say(text, error): a sentence in the status bar and on the Training panel
Say = Callable[[str, bool], None]


class RemoteRuns(QObject):
    """Sessions with SSH hosts, the Download of a remote run's files, and re-attaching."""

    def __init__(self, window: QMainWindow, runs: RunsPanel, *, submit: Submit, say: Say,
                 show_message: Say, refresh_runs: Callable[[], object],
                 live_run: Callable[[], str | None], show_run: Callable[[str], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window, self.runs = window, runs
        self._submit, self._say, self._show_message = submit, say, show_message
        self._refresh_runs, self._live_run, self._show_run = refresh_runs, live_run, show_run
        self.host_keys = HostKeyAsker(window)  # unknown host keys are asked about in this thread
        self.fetcher = Jobs(self)  # "Download" of a remote run's files, one at a time
        self.fetcher.finished.connect(self._on_fetcher_finished)
        self.fetcher.failed.connect(self._on_fetcher_failed)
        self.fetcher.busy_changed.connect(runs.set_downloading)

    def session(self, kind: str, run_dir: str, **start: Any) -> SourceFactory:
        """What makes the ``RemoteSession`` that starts (``kind`` "start", given ``host``,
        ``project`` and ``gpus``), resumes or attaches to the run in ``run_dir``."""
        from engine.remote.session import RemoteSession

        ask = self.host_keys.ask
        return lambda: RemoteSession(
            kind, run_dir, confirm_host_key=ask, **start)  # type: ignore[arg-type]

    def attach(self, run_dir: str) -> bool:
        """Follow a remote run again (after a restart, or a link that stayed down)."""
        if remote_host(run_dir) is None:
            self._say(f"{run_dir}: not a remote run; nothing to attach to", True)
            return False
        return self._submit(self.session("attach", run_dir), run_dir,
                            "Attaching to the remote run…")

    def say_stop(self) -> None:
        """Stop was pressed: for a Slurm job, say that it is cancelled (the session sends
        the stop; the engine cancels the job with scancel)."""
        from app.runs.slurm_runs import stop_text

        run_dir = self._live_run()
        text = stop_text(run_dir) if run_dir else None
        if text:
            self._say(text, False)

    def download(self, run_dir: str) -> bool:
        """Fetch a remote run's files as they are now (also mid-run), in the background."""
        from engine.remote.session import fetch_artifacts

        host = remote_host(run_dir)
        if host is None:
            self._say(f"{run_dir}: not a remote run; its files are already here", True)
            return False
        if self.fetcher.busy:
            return False
        self.window.statusBar().showMessage(f"Downloading {Path(run_dir).name} from {host}…")
        self.fetcher.submit(lambda _report: fetch_artifacts(run_dir))
        return True

    def follow_detached(self, summaries: Sequence[RunSummary]) -> None:
        """A project opened: follow again the newest remote run that may still be going, and
        point out any others."""
        detached = [s for s in summaries if s.status in FOLLOWABLE]
        if not detached:
            return
        self.attach(detached[-1].run_dir)
        others = detached[:-1]
        if others:
            hosts = ", ".join(sorted({s.host for s in others}))
            what = (f"Another run on {hosts} ({others[0].name})" if len(others) == 1
                    else f"{len(others)} other runs on {hosts}")
            self._show_message(f"{what} may still be going: select it in the Runs list "
                               "and press Attach to follow it instead.", False)

    def shutdown(self) -> None:
        """A download in flight ends cleanly (no torn file)."""
        self.fetcher.cancel()
        self.fetcher.wait(60_000)

    def _on_fetcher_finished(self, result: tuple[str, str, list[str]]) -> None:
        run_dir, host, got = result
        what = ", ".join(got) if got else "nothing yet (no files written on the host)"
        self.window.statusBar().showMessage(f"Fetched from {host}: {what}", 8000)
        self._refresh_runs()
        if run_dir in self.runs.selected_runs() and run_dir != self._live_run():
            self._show_run(run_dir)

    def _on_fetcher_failed(self, message: str) -> None:
        self._say(f"Could not download the run's files: {message}", True)
