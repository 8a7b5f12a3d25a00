"""A run on an SSH host as an event source (:class:`engine.train.source.EventSource`).

``RemoteSession`` starts a run (uploads the engine and the dataset, launches it detached),
resumes a stopped one on its host, or attaches to one that goes on there; then it follows
the host's ``events.jsonl`` (:func:`engine.remote.runs.follow`: no event lost or repeated
across dropped connections) and downloads the artifacts before it yields the terminal
event, so whoever gets ``finished`` finds the weights in the local run folder.

What it says about itself comes as session events: :class:`Status` (``connecting``,
``uploading`` with bytes, ``reconnecting``, ``connected``, ``downloading``),
:class:`Notice` (a sentence for the user), and :class:`Detached` when it stops following a
run that goes on on its host (``close()``, or a link that stayed down). An attach replays
the events mirrored so far first, so a reader sees the whole run (paused, if it was left
paused), then the live ones.

Stop, Pause and Resume may be called from any thread; they are sent from the following
thread between two reads, over the same connection (one connection per thread, as
:class:`engine.remote.ssh.RemoteHost` asks). ``close()`` sends what was pressed just before
and lets go; the connection is dropped after ``DETACH_GRACE_S`` if a read is stuck on a
dead link.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from engine.errors import UserError
from engine.remote.config import RemoteError, RunRecord, get_host
from engine.remote.hostkeys import ConfirmHostKey, HostKeyError
from engine.remote.ssh import RemoteHost
from engine.train.events import (
    TERMINAL,
    Detached,
    Event,
    Failed,
    Notice,
    RunStarted,
    Status,
    read_events,
)

#: How long a lost connection is re-tried before the session stops following.
RECONNECT_S = 120.0
#: How long a close waits for the follower to let go before dropping the connection.
DETACH_GRACE_S = 3.0
#: at most this many upload progress events a second
PROGRESS_HZ = 10.0

Kind = Literal["start", "resume", "attach"]


class _Detach(Exception):
    """Raised between two reads to stop following (the run goes on on its host)."""


class RemoteSession:
    """``kind`` "start" trains ``project`` (JSON data) on ``host`` with ``gpus`` processes
    into the local folder ``run_dir``; "resume" and "attach" take the remote run whose local
    folder is ``run_dir`` (its ``remote.json``)."""

    def __init__(self, kind: Kind, run_dir: str | Path, *, host: str = "",
                 project: dict[str, Any] | None = None, gpus: int = 1,
                 overrides: dict[str, Any] | None = None,
                 confirm_host_key: ConfirmHostKey | None = None,
                 reconnect_s: float = RECONNECT_S) -> None:
        self.kind = kind
        self.run_dir = str(Path(run_dir).resolve())
        self.host_name = host
        self.project = project or {}
        self.gpus = gpus
        self.overrides = dict(overrides or {})
        self.reconnect_s = reconnect_s
        self._confirm = confirm_host_key
        self._controls: queue.Queue[str] = queue.Queue()
        self._detach = threading.Event()
        self._lock = threading.Lock()
        self._host: RemoteHost | None = None

    # -- controls (any thread) ----------------------------------------------------------
    def stop(self) -> None:
        self._controls.put("stop")

    def pause(self) -> None:
        self._controls.put("pause")

    def resume(self) -> None:
        self._controls.put("resume")

    def close(self) -> None:
        """Stop following; the run goes on on its host. Controls pressed just before are
        still sent; a read stuck on a dead link is cut after ``DETACH_GRACE_S``."""
        self._detach.set()
        with self._lock:
            host = self._host
        if host is not None:
            timer = threading.Timer(DETACH_GRACE_S, host.abort)
            timer.daemon = True
            timer.start()

    # -- events (the following thread) --------------------------------------------------
    def events(self) -> Iterator[Event]:
        following = False
        try:
            host, rec = yield from self._open()
            following = True
            yield from self._follow(host, rec)
        except _Detach:
            yield Detached(run_dir=self.run_dir)
        except UserError as e:  # RemoteError and HostKeyError included
            if self._detach.is_set():
                yield Detached(run_dir=self.run_dir)
            elif following or self.kind == "attach":  # the run goes on on its host
                message = (f"{e}. The run goes on on its host: select it in Runs and press "
                           "Attach to follow it again.")
                yield Notice(message=message)
                yield Detached(run_dir=self.run_dir, message=message)
            else:
                yield Notice(message=str(e))
                yield Failed(message=str(e))
        finally:
            with self._lock:
                opened, self._host = self._host, None
            if opened is not None:
                opened.close()

    def _connect(self, name: str) -> Iterator[Event]:
        host = RemoteHost(get_host(name), confirm_host_key=self._confirm)
        with self._lock:
            self._host = host
        yield Status(state="connecting", text=f"Connecting to {name}…")
        host.connect()
        return host

    def _open(self) -> Iterator[Event]:
        from engine.project import Project
        from engine.remote.runs import local_record, resume_run, start_run

        if self.kind == "start":
            host = yield from self._connect(self.host_name)
            yield Status(state="uploading", text=f"Uploading the engine to {self.host_name}")
            project = Project.model_validate(self.project)
            rec = yield from _in_background(
                lambda report: start_run(host, project, self.run_dir, gpus=self.gpus,
                                         say=lambda text: report(_said(text)),
                                         progress=_throttled(report, self.host_name)))
            return host, rec
        rec = local_record(self.run_dir)
        if rec is None:
            raise RemoteError(f"{self.run_dir}: not a remote run (no remote.json in it)")
        host = yield from self._connect(rec.host)
        if self.kind == "resume":
            yield Status(state="uploading", text=f"Resuming {rec.id} on {rec.host}")
            rec = resume_run(host, rec, overrides=self.overrides)
        else:  # attach: what was mirrored before, then the live events
            for ev in read_events(Path(rec.local_dir) / "events.jsonl"):
                if not isinstance(ev, TERMINAL):
                    yield self._localize(ev, rec)
        return host, rec

    def _follow(self, host: RemoteHost, rec: RunRecord) -> Iterator[Event]:
        from engine.remote.runs import download_artifacts, follow, send_control

        def tick() -> None:
            while not self._controls.empty():  # before detaching: a pause just pressed counts
                cmd = self._controls.queue[0]
                try:
                    send_control(host, rec, cmd)
                except HostKeyError:
                    raise
                except UserError:  # the link is down: sent once follow reconnects
                    if self._detach.is_set():
                        raise _Detach from None
                    return
                self._controls.get_nowait()
            if self._detach.is_set():
                raise _Detach

        last = None
        for ev in follow(host, rec, tick=tick, reconnect_s=self.reconnect_s):
            if isinstance(ev, TERMINAL):
                last = self._localize(ev, rec)
                break
            yield self._localize(ev, rec)
        if last is None:
            raise _Detach
        yield Status(state="downloading", text=f"Downloading the artifacts from {rec.host}")
        try:
            download_artifacts(host, rec)
        except UserError as e:
            yield Notice(message=f"The run ended, but its artifacts could not be downloaded "
                         f"({e}); Attach it again later to download them.")
        yield last

    def _localize(self, ev: Event, rec: RunRecord) -> Event:
        """The event as a reader here expects it: a run_started names the local run folder
        (the host's path means nothing here) and the device as ``HOST:DEVICE``."""
        if isinstance(ev, RunStarted):
            return replace(ev, run_dir=self.run_dir, device=f"{rec.host}:{ev.device}")
        return ev


def fetch_artifacts(run_dir: str | Path) -> tuple[str, str, list[str]]:
    """Download a remote run's artifacts as they are now, over a connection of its own
    (also while the run is followed); (run_dir, host, names of what came). The host's key
    must already be trusted (it was when the run started)."""
    from engine.remote.runs import download_artifacts, local_record

    rec = local_record(run_dir)
    if rec is None:
        raise RemoteError(f"{run_dir}: not a remote run (no remote.json in it)")
    with RemoteHost(get_host(rec.host)) as host:
        return str(run_dir), rec.host, download_artifacts(host, rec)


def _said(text: str) -> Status:
    return Status(state="uploading", text=text[:1].upper() + text[1:])


def _throttled(report: Callable[[Status], None], host: str) -> Callable[[str, int, int], None]:
    """An upload progress callback that reports at most ``PROGRESS_HZ`` times a second
    (and always the last chunk of a file)."""
    shown = [0.0]

    def progress(name: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - shown[0] >= 1.0 / PROGRESS_HZ:
            shown[0] = now
            report(Status(state="uploading", text=f"Uploading {name} to {host}", done=done,
                          total=total))
    return progress


def _in_background(work: Callable[[Callable[[Status], None]], Any]) -> Iterator[Event]:
    """Run ``work(report)`` in a helper thread and yield what it reports as it comes; the
    value of ``yield from`` is its result (its exception is raised here). Lets a blocking
    upload report its progress through the one stream of events."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue()

    def run() -> None:
        try:
            box.put(("done", work(lambda status: box.put(("status", status)))))
        except BaseException as e:  # handed to the generator's thread
            box.put(("error", e))

    thread = threading.Thread(target=run, daemon=True, name="remote-upload")
    thread.start()
    while True:
        kind, value = box.get()
        if kind == "status":
            yield value
        elif kind == "error":
            thread.join()
            raise value
        else:
            thread.join()
            return value
