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
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.project import Project
from engine.sweep import results as R
from engine.sweep.results import TrialRecord
from engine.sweep.space import SearchRange, apply_point, check_space
from engine.sweep.study import Objective, make_pruner, make_sampler, open_study
from engine.tempfiles import pid_alive

if TYPE_CHECKING:
    from engine.sweep.trial import Slot

#: seconds between two heartbeats of a running trial
HEARTBEAT_S = 5.0
#: a running trial whose heartbeat is older than this has lost its coordinator
GRACE_S = 60.0
#: seconds to wait for a dead coordinator's worker to let go of a run folder
UNLOCK_WAIT_S = 60.0


@dataclass(frozen=True)
class SweepConfig:
    """What one coordinator runs. ``runs_folder`` is the project's runs folder: trials go
    to ``runs_folder/sweeps/<name>/trial-NNNN``."""

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
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.study: Any = None
        self._lock = threading.RLock()  # every study call, and the shared state below
        self._stopping = threading.Event()
        self._runs: dict[int, Any] = {}  # number -> LocalRun of the trials running here
        self._mine: dict[int, _Claim] = {}
        self._orphans: list[Any] = []
        self.skipped: list[str] = []  # orphans left alone, with why
        self._errors: list[BaseException] = []  # what ended a slot thread

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
        if self.config.resume:
            self._orphans = self._find_orphans()
        from engine.sweep.trial import Slot

        slots = [Slot() for _ in range(max(1, self.config.workers))]
        beat = threading.Thread(target=self._heartbeat, daemon=True, name="sweep-heartbeat")
        beat.start()
        threads = [threading.Thread(target=self._slot, args=(slot,), daemon=True,
                                    name=f"sweep-slot-{i}") for i, slot in enumerate(slots)]
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
            for slot in slots:
                slot.close()
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

    # -- slots ------------------------------------------------------------------------
    def _slot(self, slot: Slot) -> None:
        try:
            while not self._stopping.is_set():
                claim = self._next()
                if claim is None:
                    return
                self._run_trial(claim, slot)
        except BaseException as e:  # noqa: BLE001 - raised again by run() in its thread
            self._errors.append(e)
            self._stopping.set()

    def more_to_come(self) -> bool:
        """Whether another trial will probably start after the running ones (worth a
        worker process started ahead of time)."""
        with self._lock:
            if self._stopping.is_set():
                return False
            return bool(self._orphans) or \
                len(self.study.get_trials(deepcopy=False)) < self.config.trials

    def _next(self) -> _Claim | None:
        import optuna

        while True:
            with self._lock:
                orphan = self._orphans.pop(0) if self._orphans else None
            if orphan is None:
                break
            claim = self._claim(orphan)
            if claim is not None:
                return claim
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

    def _sign(self, trial: Any) -> None:
        trial.set_user_attr(R.COORDINATOR, self.identity)
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

    def _claim(self, frozen: Any) -> _Claim | None:
        import optuna

        run_dir = frozen.user_attrs.get(R.RUN_DIR)
        if run_dir and Path(run_dir).is_dir() and not _wait_unlocked(Path(run_dir)):
            self.skipped.append(f"trial {frozen.number}: its run folder {run_dir} is still "
                                "being written by another process; left alone")
            return None
        with self._lock:
            trial = optuna.trial.Trial(self.study, frozen._trial_id)  # no public lookup
            self._sign(trial)
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
    def _run_trial(self, claim: _Claim, slot: Slot) -> None:
        from engine.sweep.trial import TrialRun

        number = claim.trial.number
        with self._lock:
            self._mine[number] = claim
        try:
            TrialRun(self, claim, slot).run()
        finally:
            with self._lock:
                self._mine.pop(number, None)
                self._runs.pop(number, None)

    # used by TrialRun --------------------------------------------------------------------
    def emit(self, event: SweepEvent) -> None:
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
