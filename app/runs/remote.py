"""RemoteRunner: a QThread that starts, resumes or re-attaches a run on an SSH host and
relays its events exactly as :class:`app.runs.controller.RunController` relays a local
worker's, so the panels need no remote-specific code.

One job at a time, handed over through a queue. The thread opens its own
:class:`engine.remote.ssh.RemoteHost` (one connection per thread, as the engine asks); an
unknown host key is asked about in the GUI thread through
:class:`app.dialogs.host_key.HostKeyAsker`. A start uploads the engine and the dataset
(``transfer(text, done, total)`` reports it), launches the job detached and follows
``events.jsonl`` with :func:`engine.remote.runs.follow`, which re-opens a dropped
connection with no event lost or repeated (``state_changed("reconnecting")`` meanwhile).
Stop, Pause and Resume are queued here and sent from the thread between reads, over the
same connection. The terminal event is held until the artifacts are downloaded, so the
evaluation view finds weights in the local run folder when ``run_ended`` comes.

Closing the window detaches (the run goes on on its host); the run folder's
``remote.json`` lets a later session re-attach (opening the project does it for the newest
such run): the events mirrored so far are replayed first, then the live ones follow from
the next seq. An attach that cannot reach the host leaves the run detached, not failed.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, Signal

from app.runs.controller import _LIVE, RunnerControls

if TYPE_CHECKING:
    from engine.remote.config import RunRecord
    from engine.remote.ssh import RemoteHost

#: How long a lost connection is re-tried before the runner gives up following.
RECONNECT_S = 120.0
#: How long a detach waits for the follower to let go before dropping the connection.
DETACH_GRACE_S = 3.0


@dataclass(frozen=True)
class RemoteJob:
    """``kind``: "start" (``project`` as JSON data, on ``host`` with ``gpus``), "resume" or
    "attach" (the run whose local folder is ``run_dir``)."""

    kind: str
    run_dir: str
    host: str = ""
    project: dict[str, Any] = field(default_factory=dict)
    gpus: int = 1
    overrides: dict[str, Any] = field(default_factory=dict)


class _Detach(Exception):
    """Raised from follow's tick to stop following (the run goes on on its host)."""


class RemoteRunner(QThread, RunnerControls):
    """Signals as RunController's (``run_submitted``, ``event_received``, ``run_ended``,
    ``worker_died``, ``state_changed``), plus ``transfer(text, done, total)`` for uploads
    and downloads, ``attached(run_dir)`` once a run is followed and ``detached(run_dir)``
    when following ends without a terminal event (the run goes on on its host). States:
    ``connecting``, ``uploading``, ``running``, ``paused``, ``stopping``,
    ``reconnecting``, ``downloading``, ``detached``, ``idle``, ``closed``."""

    run_submitted = Signal(str, bool)
    event_received = Signal(object)
    run_ended = Signal(object)
    worker_died = Signal(str)
    state_changed = Signal(str)
    transfer = Signal(str, int, int)
    attached = Signal(str)
    detached = Signal(str)  # stopped following (closing, or the link stayed down)
    _posted = Signal()

    def __init__(self, confirm_host_key=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RemoteRunner")
        self._confirm = confirm_host_key
        self._jobs: queue.Queue[RemoteJob | None] = queue.Queue()
        self._controls: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._host: RemoteHost | None = None
        self._busy = False
        self._quitting = False
        self._detach = threading.Event()
        self._state = "idle"
        self._before_lost = "running"
        self.run_dir: str | None = None
        self._pending: collections.deque[tuple[str, tuple]] = collections.deque()
        self._posted.connect(self._on_self_posted)

    # -- GUI side -------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._busy

    def submit(self, job: RemoteJob) -> bool:
        """Queue a job; False while another is queued or running."""
        if self._busy or self._quitting:
            return False
        self._busy = True
        self._detach.clear()
        while not self._controls.empty():
            self._controls.get_nowait()
        self.run_dir = str(Path(job.run_dir).resolve())
        self._jobs.put(job)
        if not self.isRunning():
            _LIVE.add(self)  # type: ignore[arg-type]
            self.start()
        return True

    def detach(self) -> None:
        """Stop following the run (it goes on on its host; Attach follows it again).

        A Stop, Pause or Resume pressed just before is still sent first; the connection is
        dropped only if the follower has not let go within ``DETACH_GRACE_S`` (a read
        blocked on a dead link)."""
        if self._busy:
            self._detach.set()
            with self._lock:
                host = self._host
            if host is not None:
                timer = threading.Timer(DETACH_GRACE_S, host.abort)
                timer.daemon = True
                timer.start()

    def shutdown(self, timeout_s: float = 15.0) -> None:
        """Detach from a run in progress and join the thread (remote runs keep going)."""
        self._quitting = True
        self.detach()
        self._jobs.put(None)
        if self.isRunning() and not self.wait(int(timeout_s * 1000)):
            self.wait()
        _LIVE.discard(self)  # type: ignore[arg-type]
        self._set_state("closed")

    def _control(self, cmd: str, state: str) -> None:
        if self._busy and self._state in ("running", "paused", "reconnecting"):
            self._controls.put(cmd)
            self._set_state(state)

    def _on_self_posted(self) -> None:
        while self._pending:
            kind, args = self._pending.popleft()
            if kind == "event":
                self.event_received.emit(args[0])
            elif kind == "ended":
                self.event_received.emit(args[0])
                self._busy = False
                self._set_state("idle")
                self.run_ended.emit(args[0])
            elif kind == "detached":
                self._busy = False
                self._set_state("detached")
                self.detached.emit(args[0])
            elif kind == "state":
                if args[0] == "reconnecting" and self._state != "reconnecting":
                    self._before_lost = self._state
                self._set_state(args[0])
            elif kind == "link_up":  # back to what the user had (running, or paused)
                self._set_state(self._before_lost if self._state == "reconnecting" else self._state)
            elif kind == "transfer":
                self.transfer.emit(*args)
            elif kind == "submitted":
                self.run_submitted.emit(*args)
            elif kind == "attached":
                self.attached.emit(*args)
            elif kind == "died":
                self.worker_died.emit(*args)

    def _post(self, kind: str, *args: Any) -> None:
        """Run thread: hand something to the GUI thread (no object rides a queued signal:
        see app.runs.controller)."""
        self._pending.append((kind, args))
        self._posted.emit()

    # -- run thread -----------------------------------------------------------------
    def run(self) -> None:
        while not self._quitting:
            job = self._jobs.get()
            if job is None:
                break
            self._run_job(job)

    def _run_job(self, job: RemoteJob) -> None:
        from engine.project import ProjectError
        from engine.train.events import Failed

        following = False
        run_dir = str(Path(job.run_dir).resolve())
        try:
            host, rec = self._open(job)
            following = True
            self._follow(host, rec, replay=job.kind == "attach")
        except _Detach:
            self._post("detached", run_dir)
        except ProjectError as e:  # RemoteError and HostKeyError are ProjectErrors
            if self._detach.is_set():
                self._post("detached", run_dir)
            elif following or job.kind == "attach":  # the run goes on on its host
                self._post("died", f"{e}. The run goes on on its host: select it in Runs "
                           "and press Attach to follow it again.")
                self._post("detached", run_dir)
            else:
                self._post("died", str(e))
                self._post("ended", Failed(message=str(e)))
        except Exception as e:  # a bug must not leave the window waiting forever
            msg = f"The remote run failed unexpectedly ({type(e).__name__}: {e})"
            self._post("died", msg)
            self._post("ended", Failed(message=msg))
        finally:
            with self._lock:  # also when _open failed half-way through
                opened, self._host = self._host, None
            if opened is not None:
                opened.close()

    def _connect(self, name: str) -> RemoteHost:
        from engine.remote.config import get_host
        from engine.remote.ssh import RemoteHost

        host = RemoteHost(get_host(name), confirm_host_key=self._confirm)
        with self._lock:
            self._host = host
        self._post("state", "connecting")
        host.connect()
        return host

    def _open(self, job: RemoteJob) -> tuple[RemoteHost, RunRecord]:
        from engine.project import Project, ProjectError
        from engine.remote.runs import local_record, resume_run, start_run

        if job.kind == "start":
            host = self._connect(job.host)
            self._post("state", "uploading")

            shown = [0.0]

            def progress(name: str, done: int, total: int) -> None:
                now = time.monotonic()  # at most ~10 updates a second reach the GUI
                if done >= total or now - shown[0] >= 0.1:
                    shown[0] = now
                    self._post("transfer", f"Uploading {name} to {job.host}", done, total)

            def say(text: str) -> None:
                self._post("transfer", text[:1].upper() + text[1:], 0, 0)

            self._post("transfer", f"Uploading the engine to {job.host}", 0, 0)
            rec = start_run(host, Project.model_validate(job.project), job.run_dir,
                            gpus=job.gpus, say=say, progress=progress)
            self._post("submitted", job.run_dir, False)
            return host, rec
        rec = local_record(job.run_dir)
        if rec is None:
            raise ProjectError(f"{job.run_dir}: not a remote run (no remote.json in it)")
        host = self._connect(rec.host)
        if job.kind == "resume":
            self._post("transfer", f"Resuming {rec.id} on {rec.host}", 0, 0)
            rec = resume_run(host, rec, overrides=job.overrides)
            self._post("submitted", job.run_dir, True)
        self._post("attached", job.run_dir)
        return host, rec

    def _follow(self, host: RemoteHost, rec: RunRecord, replay: bool) -> None:
        from engine.project import ProjectError
        from engine.remote.hostkeys import HostKeyError
        from engine.remote.runs import download_artifacts, follow, send_control
        from engine.train.events import TERMINAL, from_json

        local = str(Path(rec.local_dir).resolve())
        if replay:  # re-attached: show what was mirrored before, then the live events
            events = Path(local) / "events.jsonl"
            lines = events.read_bytes().splitlines() if events.is_file() else []
            for line in lines:
                try:
                    ev = from_json(line.decode("utf-8"))
                except (ValueError, TypeError):
                    continue  # a torn last line: follow drops and re-reads it
                if not isinstance(ev, TERMINAL):
                    self._post("event", _localize(ev, local, rec.host))
        self._post("state", "paused" if replay and _paused(host, rec) else "running")

        def tick() -> None:
            while not self._controls.empty():  # before detaching: a pause just pressed counts
                cmd = self._controls.queue[0]
                try:
                    send_control(host, rec, cmd)
                except HostKeyError:
                    raise
                except ProjectError:  # the link is down: sent once follow reconnects
                    if self._detach.is_set():
                        raise _Detach from None
                    return
                self._controls.get_nowait()
            if self._detach.is_set():
                raise _Detach

        def on_link(up: bool, why: str) -> None:
            if up:
                self._post("link_up")
            else:
                self._post("state", "reconnecting")

        last = None
        for ev in follow(host, rec, tick=tick, on_link=on_link, reconnect_s=RECONNECT_S):
            ev = _localize(ev, local, rec.host)
            if isinstance(ev, TERMINAL):
                last = ev
                break
            self._post("event", ev)
        if last is None:
            raise _Detach
        self._post("state", "downloading")
        self._post("transfer", f"Downloading the artifacts from {rec.host}", 0, 0)
        try:
            download_artifacts(host, rec)
        except ProjectError as e:
            self._post("died", f"The run ended, but its artifacts could not be downloaded "
                       f"({e}); Attach it again later to download them.")
        self._post("ended", last)


def fetch_artifacts(run_dir: str) -> tuple[str, str, list[str]]:
    """Download a remote run's artifacts as they are now, over a connection of its own
    (also while the run is followed); (run_dir, host, names of what came). The host's key
    must already be trusted (it was when the run started)."""
    from engine.project import ProjectError
    from engine.remote.config import get_host
    from engine.remote.runs import download_artifacts, local_record
    from engine.remote.ssh import RemoteHost

    rec = local_record(run_dir)
    if rec is None:
        raise ProjectError(f"{run_dir}: not a remote run (no remote.json in it)")
    with RemoteHost(get_host(rec.host)) as host:
        return run_dir, rec.host, download_artifacts(host, rec)


def _paused(host: RemoteHost, rec: RunRecord) -> bool:
    """Whether the last pause/resume the run was sent is a pause (it waits for Resume)."""
    from engine.remote.agent import CONTROL

    last = ""
    for line in host.read_from(f"{rec.remote_dir}/{CONTROL}", 0).splitlines():
        if b'"pause"' in line or b'"resume"' in line:
            last = "pause" if b'"pause"' in line else "resume"
    return last == "pause"


def _localize(ev: Any, local_dir: str, host: str) -> Any:
    """The event as the panels expect it: a run_started names the local run folder (the
    host's path means nothing here) and the device as ``HOST:DEVICE``."""
    if getattr(ev, "type", "") == "run_started":
        return replace(ev, run_dir=local_dir, device=f"{host}:{ev.device}")
    return ev
