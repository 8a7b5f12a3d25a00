"""A sweep lane on a configured SSH host: its trials train there, one at a time.

Each trial is an ordinary remote run (:class:`engine.remote.session.RemoteSession`) whose
local folder is the trial's run folder: the host's events are mirrored into its
``events.jsonl`` as they come and the artifacts (weights, checkpoints, metrics, the project
snapshot with its dataset path pointed back here) are downloaded before the terminal event,
so evaluation, overlaying and ``layerforge train --resume`` work on it as on a local trial.
Pruning and the sweep's stop go through the run's ordinary stop control.

A host that cannot be reached (or cannot take the run: no torch, an engine that does not
unpack) fails the trial it was given with the host's sentence and *breaks* the lane:
:attr:`RemoteLane.broken` says why, and the coordinator gives it no more trials. A link
that stays down while a trial trains does the same (the run may go on on the host).

A trial a killed coordinator left running on the host is first brought up to date by
:meth:`RemoteLane.catch_up` (the coordinator calls it before the trial is resumed), so that
:class:`engine.sweep.trial.TrialRun` reads its folder as it reads a local trial's: the
events mirrored up to now (to the end, if the run is over), the snapshot and the last
checkpoint downloaded. Then the lane *attaches* to a run that still goes on, or *resumes*
one that stopped from its checkpoint on the host.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from engine.errors import UserError
from engine.remote.hostkeys import ConfirmHostKey
from engine.remote.session import RECONNECT_S, Kind, RemoteSession
from engine.train.events import Detached, Event, Failed
from engine.train.source import EventSource, Job

#: seconds between two looks at a host run that has not written its first checkpoint yet
CHECKPOINT_POLL_S = 1.0


class RemoteLane:
    """The lane of the configured SSH host ``host`` (see the module docstring).
    ``confirm_host_key`` is asked about a host key seen for the first time (None: such a
    key is refused, with the sentence that says so)."""

    def __init__(self, host: str, *, confirm_host_key: ConfirmHostKey | None = None,
                 reconnect_s: float = RECONNECT_S) -> None:
        self.host = host
        self.name = host
        #: why this lane takes no more trials (None while it works)
        self.broken: str | None = None
        self.confirm_host_key = confirm_host_key
        self.reconnect_s = reconnect_s
        self._kinds: dict[str, Kind] = {}  # run folder -> how catch_up found its host run
        self._lock = threading.Lock()
        self._live: set[RemoteSession] = set()

    # -- the Lane interface -------------------------------------------------------------
    def source(self, job: Job) -> EventSource:
        """The trial's run on the host: started fresh, or for a resumed trial, attached to
        (it still runs there) or resumed from its checkpoint (it had stopped)."""
        run_dir = str(Path(job.run_dir).resolve())
        if job.resume:
            kind = self._kinds.pop(run_dir, "resume")
            session = RemoteSession(kind, run_dir, overrides=job.overrides,
                                    confirm_host_key=self.confirm_host_key,
                                    reconnect_s=self.reconnect_s)
        else:
            session = RemoteSession("start", run_dir, host=self.host, project=job.project,
                                    gpus=_gpus(job.project),
                                    confirm_host_key=self.confirm_host_key,
                                    reconnect_s=self.reconnect_s)
        return _LaneRun(self, session)

    def started(self, more: bool) -> None:
        """Nothing to prepare: a remote trial needs no process here."""

    def close(self) -> None:
        """Let go of a run still followed (it goes on on its host); none is, normally."""
        with self._lock:
            live = list(self._live)
        for session in live:
            session.close()

    # -- resuming a trial a killed coordinator left on the host -------------------------
    def catch_up(self, run_dir: str | Path,
                 should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Bring the local folder of a trial that ran on this host up to date before it is
        resumed (see the module docstring): a run that is over is mirrored to its terminal
        event; one that goes on is waited for until it has a checkpoint (then attached to);
        one its dead coordinator had decided to prune (``sweep.json`` says ``pruning``) is
        stopped first. The snapshot and checkpoints are downloaded in every case. False
        when ``should_stop`` said so while waiting (the sweep stops; nothing was changed).

        Raises a :class:`~engine.errors.UserError` (the host's sentence) when the host
        cannot be reached; the lane is then broken."""
        from engine.remote.config import get_host
        from engine.remote.runs import (
            download_artifacts,
            follow,
            is_alive,
            local_record,
            send_control,
        )
        from engine.remote.ssh import RemoteHost
        from engine.sweep.results import read_sweep_file

        folder = str(Path(run_dir).resolve())
        rec = local_record(folder)
        if rec is None:
            return True
        try:
            with RemoteHost(get_host(rec.host), self.confirm_host_key) as host:
                alive = is_alive(host, rec)
                pruning = read_sweep_file(folder).get("state") in ("pruning", "pruned")
                if alive and pruning:  # decided, maybe never sent: the run stops now
                    send_control(host, rec, "stop")
                checkpoint = f"{rec.remote_dir}/checkpoints/last.safetensors"
                while alive and not pruning and not host.exists(checkpoint):
                    if should_stop():
                        return False
                    time.sleep(CHECKPOINT_POLL_S)
                    alive = is_alive(host, rec)
                if alive and not pruning:
                    self._kinds[folder] = "attach"
                else:  # over (or stopping): its events to the end, as a local run has them
                    for _ in follow(host, rec, reconnect_s=self.reconnect_s):
                        pass
                    self._kinds[folder] = "resume"
                download_artifacts(host, rec)
        except UserError as e:
            self.broken = self._named(str(e))
            raise
        return True

    # -- used by _LaneRun ---------------------------------------------------------------
    def _named(self, why: str) -> str:
        """The host's sentence, naming the host."""
        why = why.strip().rstrip(".")
        return why if self.host in why else f"{self.host}: {why}"

    def _broke(self, why: str) -> Failed:
        """Break the lane (``why``: the host's sentence); the trial's failure, which says
        what it means for the sweep."""
        self.broken = self._named(why)
        return Failed(message=f"{self.broken}; {self.host} takes no more trials in this sweep "
                      f"(check it with `layerforge remote test {self.host}`)")

    def _follows(self, session: RemoteSession, on: bool) -> None:
        with self._lock:
            (self._live.add if on else self._live.discard)(session)


class _LaneRun:
    """A trial's RemoteSession as the lane hands it out: a failure before the host's run
    said anything (the host cannot be reached or cannot take the run), and a link that
    stayed down, become one Failed event with the host's sentence, and break the lane."""

    def __init__(self, lane: RemoteLane, session: RemoteSession) -> None:
        self.lane = lane
        self.session = session

    def events(self) -> Iterator[Event]:
        heard = False  # an event of the host's run came (those carry a seq)
        self.lane._follows(self.session, True)
        try:
            for ev in self.session.events():
                if isinstance(ev, Failed) and not heard and not ev.seq:
                    yield self.lane._broke(ev.message)
                    return
                if isinstance(ev, Detached):
                    yield self.lane._broke(ev.message or f"the link to {self.lane.host} was lost")
                    return
                heard = heard or ev.seq > 0
                yield ev
        finally:
            self.lane._follows(self.session, False)

    def stop(self) -> None:
        self.session.stop()

    def pause(self) -> None:
        self.session.pause()

    def resume(self) -> None:
        self.session.resume()

    def close(self) -> None:
        self.session.close()


def _gpus(project: dict[str, Any]) -> int:
    training = project.get("training") if isinstance(project, dict) else None
    try:
        return max(1, int((training or {}).get("gpus", 1) or 1))
    except (TypeError, ValueError):
        return 1
