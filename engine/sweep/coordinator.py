"""The sweep loop: ask Optuna for a trial, check it, train it as an ordinary run, tell the
result, until the study holds N trials.

:class:`Coordinator` is driven by ``run()`` (blocking; the CLI's main thread or the app's
runner thread) and reports through one ``listener(event)`` callback, called from its worker
threads, with :class:`TrialStarted`, :class:`TrialEpoch` and :class:`TrialEnded` events.
``stop()`` may be called from any thread: running trials stop through their run's stop
control (each keeps a checkpoint) and stay RUNNING in the study, for ``resume`` to finish.

Rules that keep a sweep exact (docs/sweeps.md says them to the user):
- a coordinator asks only while the study has fewer than N trials; several coordinators may
  still race past N, so a trial numbered N or more is told failed at once with the user
  attribute ``surplus`` and never run;
- a point that shape inference or the data fit check refuses is told failed with
  ``infeasible`` and its sentence, without a run folder;
- ``resume`` takes over the trials a dead coordinator left RUNNING (same host: its process
  is gone; any host: its heartbeat is older than ``GRACE_S``): a trial whose run folder has
  a checkpoint continues from it, one whose run already ended is told from its events, and
  one killed before its first checkpoint is told failed with why. No trial is run twice.

Trials run on *lanes* (engine.sweep.lanes), one trial at a time each: ``config.workers``
local lanes and one per configured SSH host in ``config.hosts``. A resumed trial goes back
to where it ran: one that ran on a host to that host's lane (which first brings its run
folder up to date), one that ran here to a local lane. A lane whose host cannot be reached
fails the trial it had and takes no more; the others go on.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.project import Project
from engine.sweep import results as R
from engine.sweep.lanes import Lane, fits, make_lanes, unplaced_note, where_it_ran
from engine.sweep.results import TrialRecord
from engine.sweep.space import SearchRange, apply_point, check_space
from engine.sweep.study import Objective, make_pruner, make_sampler, open_study
from engine.tempfiles import pid_alive

if TYPE_CHECKING:
    from engine.remote.hostkeys import ConfirmHostKey

#: seconds between two heartbeats of a running trial
HEARTBEAT_S = 5.0
#: a running trial whose heartbeat is older than this has lost its coordinator
GRACE_S = 60.0
#: seconds to wait for a dead coordinator's worker to let go of a run folder
UNLOCK_WAIT_S = 60.0


@dataclass(frozen=True)
class SweepConfig:
    """What one coordinator runs. ``runs_folder`` is the project's runs folder: trials go
    to ``runs_folder/sweeps/<name>/trial-NNNN``. ``workers`` local lanes (0 only with
    ``hosts``) and one lane per configured SSH host in ``hosts`` train them."""

    name: str
    trials: int
    space: dict[str, SearchRange]
    objectives: list[Objective]
    storage: str
    runs_folder: Path
    sampler: str = "tpe"
    pruner: str = "median"
    workers: int = 1
    seed: int | None = 0
    resume: bool = False
    hosts: tuple[str, ...] = ()

    def study_config(self) -> dict[str, Any]:
        """What the study remembers of the sweep (checked when another coordinator joins)."""
        return {"space": {k: r.spec() for k, r in self.space.items()},
                "objectives": [o.text() for o in self.objectives], "trials": self.trials,
                "sampler": self.sampler, "pruner": self.pruner, "seed": self.seed}


@dataclass(frozen=True)
class TrialStarted:
    number: int
    params: dict[str, Any]
    run_dir: str
    resumed: bool = False
    lane: str = ""  # the lane's name: "local 1", or the SSH host's


@dataclass(frozen=True)
class TrialEpoch:
    number: int
    epoch: int
    value: float | None


@dataclass(frozen=True)
class TrialEnded:
    record: TrialRecord


SweepEvent = TrialStarted | TrialEpoch | TrialEnded


@dataclass
class _Claim:
    """A trial this coordinator runs: a new one, or one it resumes."""

    trial: Any  # optuna.trial.Trial
    params: dict[str, Any]
    resumed: bool = False
    reported: set[int] = field(default_factory=set)


class Coordinator:
    """Runs one sweep (see the module docstring). ``project`` has its data paths absolute
    and its fixed overrides applied; each trial changes only the keys of ``config.space``."""

    def __init__(self, project: Project, config: SweepConfig,
                 listener: Callable[[SweepEvent], None] | None = None) -> None:
        check_space(project, config.space)
        self.project = project
        self.config = config
        self.listener = listener or (lambda _ev: None)
        #: asked about an SSH host key seen for the first time (None: refused with a sentence)
        self.confirm_host_key: ConfirmHostKey | None = None
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.study: Any = None
        self._lock = threading.RLock()  # every study call, and the shared state below
        self._stopping = threading.Event()
        self._runs: dict[int, Any] = {}  # number -> the event source of a trial running here
        self._mine: dict[int, _Claim] = {}
        self._orphans: list[tuple[Any, str | None]] = []  # (trial, lanes.where_it_ran)
        self._lane_of: dict[int, str] = {}  # number -> the name of the lane running it
        self._noted: set[str] = set()  # lanes whose stop is in ``skipped``
        #: notes for the user, with why: orphans left alone, lanes that took no more trials
        self.skipped: list[str] = []
        self._errors: list[BaseException] = []  # what ended a lane's thread

    @property
    def folder(self) -> Path:
        return self.config.runs_folder / "sweeps" / self.config.name

    def trial_dir(self, number: int) -> Path:
        return self.folder / f"trial-{number:04d}"

    # -- driving ----------------------------------------------------------------------
    def open(self) -> Any:
        """Open (or join) the study; ``run`` does it when not done before."""
        if self.study is None:
            c = self.config
            epochs = self.project.training.epochs
            self.study = open_study(
                c.storage, c.name, c.objectives, config=c.study_config(),
                sampler=make_sampler(c.sampler, c.seed, c.space, len(c.objectives)),
                pruner=make_pruner(c.pruner, len(c.objectives), c.trials, epochs))
        return self.study

    def run(self) -> list[TrialRecord]:
        """Run trials until the study holds N of them (or ``stop``); every trial's record."""

        study = self.open()
        lanes = make_lanes(self.config.workers, self.config.hosts, self.confirm_host_key)
        if self.config.resume:
            self._orphans = self._placed(self._find_orphans(), lanes)
        beat = threading.Thread(target=self._heartbeat, daemon=True, name="sweep-heartbeat")
        beat.start()
        threads = [threading.Thread(target=self._lane, args=(lane,), daemon=True,
                                    name=f"sweep-lane-{i}") for i, lane in enumerate(lanes)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                while t.is_alive():
                    t.join(0.2)  # a short join keeps Ctrl-C deliverable to the main thread
        finally:
            self.stop()
            for t in threads:
                t.join()
            for lane in lanes:
                lane.close()
        if self._errors:
            raise self._errors[0]
        with self._lock:
            return R.study_records(study, self.config.objectives, self.config.trials)

    def stop(self) -> None:
        """No new trials; the running ones stop with a checkpoint and stay RUNNING."""
        self._stopping.set()
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.stop()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- lanes ------------------------------------------------------------------------
    def _lane(self, lane: Lane) -> None:
        try:
            while not self._stopping.is_set() and not self._broken(lane):
                claim = self._next(lane)
                if claim is None:
                    break
                self._run_trial(claim, lane)
        except BaseException as e:  # noqa: BLE001 - raised again by run() in its thread
            self._errors.append(e)
            self._stopping.set()

    def _broken(self, lane: Lane) -> bool:
        """Whether ``lane`` takes no more trials (its host cannot be reached); noted once."""
        why = getattr(lane, "broken", None)
        with self._lock:
            if why and lane.name not in self._noted:
                self._noted.add(lane.name)
                self.skipped.append(f"{lane.name} took no more trials: {why}")
        return bool(why)

    def more_to_come(self) -> bool:
        """Whether another trial will probably start after the running ones (worth a
        worker process started ahead of time)."""
        with self._lock:
            if self._stopping.is_set():
                return False
            return bool(self._orphans) or \
                len(self.study.get_trials(deepcopy=False)) < self.config.trials

    def _next(self, lane: Lane) -> _Claim | None:
        import optuna

        while not self._broken(lane):
            with self._lock:
                mine = [i for i, (_, where) in enumerate(self._orphans) if fits(lane, where)]
                orphan = self._orphans.pop(mine[0])[0] if mine else None
            if orphan is None:
                break
            claim = self._claim(orphan)
            if claim is not None:
                return claim
        if self._broken(lane):
            return None
        with self._lock:
            study, n = self.study, self.config.trials
            trials = study.get_trials(deepcopy=False)
            waiting = any(t.state == optuna.trial.TrialState.WAITING for t in trials)
            if len(trials) >= n and not waiting:  # a waiting (enqueued) trial is asked next
                return None
            trial = study.ask()
            if trial.number >= n:  # another coordinator asked the last one meanwhile
                trial.set_user_attr(R.SURPLUS, True)
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                return None
            params = {k: r.suggest(trial, k) for k, r in self.config.space.items()}
            self._sign(trial)
            return _Claim(trial, params)

    def _sign(self, trial: Any, beat: bool = False) -> None:
        """Mark ``trial`` as this coordinator's. A fresh trial's start time is its first
        heartbeat (one commit fewer per trial); a claimed orphan's is old: it beats now."""
        trial.set_user_attr(R.COORDINATOR, self.identity)
        if beat:
            trial.set_user_attr(R.HEARTBEAT, time.time())

    def _find_orphans(self) -> list[Any]:
        """The RUNNING trials whose coordinator is gone (see the module docstring)."""
        import optuna

        host = socket.gethostname()
        now = time.time()
        out = []
        with self._lock:
            running = self.study.get_trials(deepcopy=False,
                                            states=(optuna.trial.TrialState.RUNNING,))
        for t in running:
            if t.number >= self.config.trials:
                continue
            who = str(t.user_attrs.get(R.COORDINATOR, ""))
            beat = t.user_attrs.get(R.HEARTBEAT)
            if beat is None and t.datetime_start is not None:
                beat = t.datetime_start.timestamp()
            stale = beat is None or now - float(beat) > GRACE_S
            their_host, _, pid = who.rpartition(":")
            gone = their_host == host and pid.isdigit() and not pid_alive(int(pid))
            if stale or gone or who == self.identity:
                out.append(t)
        return out

    def _placed(self, orphans: list[Any], lanes: list[Lane]) -> list[tuple[Any, str | None]]:
        """The orphans with where they ran (engine.sweep.lanes.where_it_ran); those no
        lane of this coordinator can continue are left alone, with a note."""
        out = []
        for frozen in orphans:
            where = where_it_ran(frozen.user_attrs.get(R.RUN_DIR))
            if any(fits(lane, where) for lane in lanes):
                out.append((frozen, where))
            else:
                self.skipped.append(unplaced_note(frozen.number, where))
        return out

    def _claim(self, frozen: Any) -> _Claim | None:
        import optuna

        run_dir = frozen.user_attrs.get(R.RUN_DIR)
        if run_dir and Path(run_dir).is_dir() and not _wait_unlocked(Path(run_dir)):
            self.skipped.append(f"trial {frozen.number}: its run folder {run_dir} is still "
                                "being written by another process; left alone")
            return None
        with self._lock:
            trial = optuna.trial.Trial(self.study, frozen._trial_id)  # no public lookup
            self._sign(trial, beat=True)
        return _Claim(trial, dict(frozen.params), resumed=True,
                      reported=set(frozen.intermediate_values))

    def _heartbeat(self) -> None:
        while not self._stopping.wait(HEARTBEAT_S):
            with self._lock:
                claims = list(self._mine.values())
                for claim in claims:
                    try:
                        claim.trial.set_user_attr(R.HEARTBEAT, time.time())
                    except Exception:  # noqa: BLE001 - a database hiccup: beat again later
                        pass

    # -- one trial ----------------------------------------------------------------------
    def _run_trial(self, claim: _Claim, lane: Lane) -> None:
        from engine.sweep.trial import TrialRun

        number = claim.trial.number
        with self._lock:
            self._mine[number] = claim
            self._lane_of[number] = lane.name
            claim.trial.set_user_attr(R.LANE, lane.name)
        try:
            if claim.resumed and not self._caught_up(number, lane):
                return
            TrialRun(self, claim, lane).run()
        finally:
            with self._lock:
                self._mine.pop(number, None)
                self._runs.pop(number, None)
                self._lane_of.pop(number, None)

    def _caught_up(self, number: int, lane: Lane) -> bool:
        """A resumed trial that ran on ``lane``'s host has its run folder brought up to
        date first (RemoteLane.catch_up); False when the host cannot be reached (with a
        note) or the sweep stops meanwhile: the trial stays RUNNING for a later resume."""
        from engine.errors import UserError

        catch_up = getattr(lane, "catch_up", None)
        if catch_up is None:
            return True
        try:
            return catch_up(self.trial_dir(number), self._stopping.is_set)
        except UserError as e:
            self.skipped.append(f"trial {number}: its run on {lane.name} could not be "
                                f"brought up to date ({e}); left running: resume the sweep "
                                "again when the host can be reached")
            return False

    # used by TrialRun --------------------------------------------------------------------
    def emit(self, event: SweepEvent) -> None:
        with self._lock:
            lane = self._lane_of.get(getattr(event, "number", None)
                                     if not isinstance(event, TrialEnded)
                                     else event.record.number, "")
        if isinstance(event, TrialStarted) and not event.lane:
            event = replace(event, lane=lane)
        elif isinstance(event, TrialEnded) and not event.record.lane:
            event = replace(event, record=replace(event.record, lane=lane))
        try:
            self.listener(event)
        except Exception:  # noqa: BLE001 - a listener's defect must not end the sweep
            import logging

            logging.getLogger(__name__).exception("sweep listener failed")

    def running(self, number: int, run: Any) -> None:
        with self._lock:
            self._runs[number] = run
        if self._stopping.is_set():
            run.stop()

    def trial_project(self, params: dict[str, Any]) -> Project:
        return apply_point(self.project, params)


def _wait_unlocked(folder: Path, timeout: float = UNLOCK_WAIT_S) -> bool:
    """Wait until no process writes ``folder`` (a dead coordinator's worker stops with a
    checkpoint when its parent goes away, which takes a moment)."""
    from engine.train import runlock

    deadline = time.monotonic() + timeout
    while True:
        try:
            runlock.release(runlock.acquire(folder, "layerforge sweep"))
            return True
        except runlock.RunBusy:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
        except runlock.RunLockError:
            return True  # cannot be written: the resumed run says why
