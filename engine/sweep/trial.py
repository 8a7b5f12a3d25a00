"""One trial of a sweep, from its parameters to the result told to Optuna: checked by shape
inference, trained as an ordinary run folder on a local worker (or resumed from its
checkpoint), pruned through the run's stop control, and recorded in the study and in the
run folder's sweep.json. Trials run on *lanes*: a lane (``name``, ``source(job)``,
``started(more)``, ``close()``) runs one trial at a time; :class:`LocalLane` is this
computer's, engine.sweep.remote_lane's an SSH host's (engine.sweep.lanes)."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from engine.project import Project, ProjectError
from engine.sweep import results as R
from engine.sweep.coordinator import TrialEnded, TrialEpoch, TrialStarted
from engine.sweep.results import TrialRecord
from engine.sweep.space import SweepError
from engine.sweep.study import PruneCheck
from engine.train.events import EpochEnded, Failed, Finished, Stopped, read_events

if TYPE_CHECKING:
    from engine.sweep.coordinator import Coordinator, _Claim


class TrialRun:
    """Runs one claimed trial to its end (or to the sweep's stop) and tells the result."""

    def __init__(self, coordinator: Coordinator, claim: _Claim, slot: Any) -> None:
        self.c = coordinator
        self.claim = claim
        self.trial = claim.trial
        self.number: int = claim.trial.number
        self.slot = slot
        self.objectives = coordinator.config.objectives
        self.first = self.objectives[0]
        self.run_dir = coordinator.trial_dir(self.number)
        self.t0 = time.monotonic()
        self.epochs = 0
        self.last: float | None = None  # the first objective at the last epoch
        self.final: float | None = None  # the same, from the Finished event
        self.pruned_at: int | None = None
        self.failure: str | None = None
        self.finished = False
        self.stopped = False
        self.size: dict[str, float] = {}
        self.owns = claim.resumed  # the run folder is this trial's (sweep.json may be written)
        self.total_epochs = 0  # the trial's training.epochs: its last epoch is never pruned
        self.prune_check: PruneCheck | None = None

    def run(self) -> None:
        project = self._resumable() if self.claim.resumed else self._fresh()
        if project is not None:
            self._train(project)
            self._conclude()

    # -- before training ----------------------------------------------------------------
    def _fresh(self) -> Project | None:
        try:
            project = self.c.trial_project(self.claim.params)
        except (SweepError, ProjectError) as e:
            self._tell_failed(str(e), infeasible=True)
            return None
        errors, self.size = feasibility(project)
        if errors:
            self._tell_failed("; ".join(errors), infeasible=True)
            return None
        if (self.run_dir / "project.lforge").exists():
            self._tell_failed(f"{self.run_dir} already holds a run (of an older study with "
                              "this name?): use another --name")
            return None
        self.claim.resumed = False
        return self._started(project)

    def _resumable(self) -> Project | None:
        """A trial a dead coordinator left running: its run folder decides what is left."""
        from engine.train.rundir import RunDir

        run = RunDir(self.run_dir)
        if not run.snapshot.is_file():  # it never began training: nothing ran yet
            return self._fresh()
        for ev in read_events(run.events):
            if isinstance(ev, EpochEnded):
                self.epochs, self.last = ev.epoch, finite(ev.val.get(self.first.val_name))
            elif isinstance(ev, Finished):
                self.finished, self.final = True, finite(ev.metrics.get(self.first.val_name))
            elif isinstance(ev, Failed):
                self.failure = ev.message
        project = run.load_project()
        self.size = feasibility(project)[1]
        sweep = R.read_sweep_file(self.run_dir)
        if sweep.get("state") in ("pruning", "pruned"):
            self.pruned_at = int(sweep.get("epochs") or self.epochs)
        if self.pruned_at is not None or self.finished or self.failure:
            self._conclude()  # it ended before its coordinator could tell: tell it now
            return None
        if not run.checkpoint("last").is_file():
            self._tell_failed("interrupted before its first checkpoint (its coordinator was "
                              "killed); not run again")
            return None
        return self._started(project)

    def _started(self, project: Project) -> Project | None:
        from engine.train.rundir import RunDir

        try:
            RunDir(self.run_dir).create()  # sweep.json goes in before the worker starts
        except ProjectError as e:
            self._tell_failed(str(e))
            return None
        self.owns = True
        with self.c._lock:
            self.trial.set_user_attr(R.RUN_DIR, str(self.run_dir))
        self._write("running")
        return project

    # -- training -----------------------------------------------------------------------
    def _train(self, project: Project) -> None:
        from engine.train.source import Job

        self.total_epochs = int(project.training.epochs)
        job = Job(project.model_dump(mode="json"), str(self.run_dir), resume=self.claim.resumed)
        run = self.slot.source(job)
        self.c.emit(TrialStarted(self.number, dict(self.claim.params), str(self.run_dir),
                                 self.claim.resumed))
        self.c.running(self.number, run)
        first = True
        for ev in run.events():
            if first:  # the lane's process is busy: it may prepare for the next trial
                self.slot.started(self.c.more_to_come())
                first = False
            if isinstance(ev, EpochEnded):
                self._epoch(ev, run)
            elif isinstance(ev, Failed):
                self.failure = self.failure or ev.message
            elif isinstance(ev, Finished):
                self.finished, self.final = True, finite(ev.metrics.get(self.first.val_name))
            elif isinstance(ev, Stopped):
                self.stopped = True

    def _epoch(self, ev: EpochEnded, run: Any) -> None:
        self.epochs = ev.epoch
        name = self.first.val_name
        if name not in ev.val:
            if self.failure is None:
                shown = ", ".join(f"val_{k}" for k, v in ev.val.items()
                                  if isinstance(v, int | float)) or "nothing"
                self.failure = (f"the run reports no {self.first.metric} (it reports {shown}): "
                                "choose one of those with --objective")
                run.stop()
            return
        self.last = finite(ev.val[name])
        self.c.emit(TrialEpoch(self.number, ev.epoch, self.last))
        if (self.last is None or self.pruned_at is not None or len(self.objectives) > 1
                or ev.epoch in self.claim.reported or ev.epoch >= self.total_epochs):
            return  # a trial at its last epoch has cost all it will: it completes
        with self.c._lock:
            prune = self._pruning().report(self.last, ev.epoch)
            self.claim.reported.add(ev.epoch)
        if prune:
            self.pruned_at = ev.epoch
            self._write("pruning")
            run.stop()  # the run's ordinary stop: it keeps a checkpoint

    def _pruning(self) -> PruneCheck:
        """The trial's pruning decisions (a resumed trial's values so far read once)."""
        if self.prune_check is None:
            reported: dict[int, float] = {}
            if self.claim.reported:
                import optuna

                running = self.c.study.get_trials(deepcopy=False,
                                                  states=(optuna.trial.TrialState.RUNNING,))
                reported = next((dict(t.intermediate_values) for t in running
                                 if t.number == self.number), {})
            self.prune_check = PruneCheck(self.c.study, self.trial, reported)
        return self.prune_check

    # -- the result ---------------------------------------------------------------------
    def _conclude(self) -> None:
        import optuna

        State = optuna.trial.TrialState
        if self.pruned_at is not None:
            self._tell("pruned", f"pruned at epoch {self.pruned_at}", optuna_state=State.PRUNED)
        elif self.failure:
            self._tell_failed(self.failure)
        elif self.stopped and self.c.stopping:
            self._write("interrupted", "stopped with the sweep; --resume continues it")
            self._end("running", "stopped with the sweep; --resume continues it")
        elif self.finished:
            value = self.final if self.final is not None else self.last
            if value is None:
                self._tell_failed(f"the run's {self.first.metric} is not a number")
                return
            values = [value] + [self.size.get(o.metric, 0.0) for o in self.objectives[1:]]
            self._tell("complete", "", values=values)
        elif self.stopped:
            self._tell_failed("the run was stopped before its end")
        else:
            self._tell_failed("the run ended without a result")

    def _tell_failed(self, message: str, infeasible: bool = False) -> None:
        import optuna

        self._tell("infeasible" if infeasible else "failed", message,
                   optuna_state=optuna.trial.TrialState.FAIL, infeasible=infeasible)

    def _tell(self, state: str, message: str, *, values: list[float] | None = None,
              optuna_state: Any = None, infeasible: bool = False) -> None:
        """Tell Optuna the result (``values`` of a complete trial, else ``optuna_state``)
        with the trial's message, epochs and seconds; record it in sweep.json."""
        seconds = round(time.monotonic() - self.t0, 3)
        with self.c._lock:
            t = self.trial
            try:
                t.set_user_attr(R.MESSAGE, message)
                t.set_user_attr(R.EPOCHS, self.epochs)
                t.set_user_attr(R.SECONDS, seconds)
                if infeasible:
                    t.set_user_attr(R.INFEASIBLE, True)
                if values is not None:
                    self.c.study.tell(t, values if len(values) > 1 else values[0])
                else:
                    self.c.study.tell(t, state=optuna_state)
            except (RuntimeError, ValueError) as e:  # told meanwhile (another coordinator)
                message = f"{message}; not recorded: {e}".lstrip("; ")
        if self.owns:
            self._write(state, message, values)
        self._end(state, message, values, seconds)

    def _end(self, state: str, message: str, values: list[float] | None = None,
             seconds: float | None = None) -> None:
        named = dict(zip((o.metric for o in self.objectives), values or [], strict=False))
        if not named and state == "pruned" and self.last is not None:
            named = {self.first.metric: self.last}
        record = TrialRecord(self.number, state, dict(self.claim.params), named, self.epochs,
                             seconds if seconds is not None else time.monotonic() - self.t0,
                             str(self.run_dir) if state != "infeasible" else "", message)
        self.c.emit(TrialEnded(record))

    def _write(self, state: str, message: str = "", values: list[float] | None = None) -> None:
        from engine.sweep.study import _safe_url

        R.write_sweep_file(self.run_dir, {
            "study": self.c.config.name, "storage": _safe_url(self.c.config.storage),
            "trial": self.number, "params": self.claim.params, "state": state,
            "message": message, "epochs": self.pruned_at or self.epochs,
            "values": dict(zip((o.metric for o in self.objectives), values or [], strict=False)),
            "coordinator": self.c.identity, "lane": self.slot.name})


class LocalLane:
    """A lane of trials on this computer (the module docstring says what a lane is):
    one worker process, started when the lane is made, trains the lane's trials one after
    the other (:class:`engine.train.reused_worker.ReusedWorker`). Only the first trial waits
    for it to import torch, and no trial's training shares the CPU with a process starting
    for the next one. A process that dies mid-trial fails that trial alone; the lane starts
    a new one for the next."""

    def __init__(self, name: str = "local 1") -> None:
        from engine.train.reused_worker import ReusedWorker

        self.name = name
        self._worker = ReusedWorker()
        self._worker.start()

    def source(self, job: Any) -> Any:
        """The event source that runs ``job`` (an engine.train.source.Job) on this lane."""
        return self._worker.run(job)

    def started(self, more: bool) -> None:
        """The trial's first event arrived. Nothing to start ahead: the lane's one process
        runs the next trial too."""

    def close(self) -> None:
        self._worker.close()


def feasibility(project: Project) -> tuple[list[str], dict[str, float]]:
    """The problems that stop ``project`` from training (shape inference, the task's graphs,
    the model against its data), and its size as ``params`` and ``flops``."""
    from engine.shapes import analyze_project, project_problems
    from engine.terminal import problem_line
    from engine.train.fit import data_fit_errors

    analyses = analyze_project(project)
    errors = [problem_line(p) for p in project_problems(project, analyses)
              if p.severity == "error"]
    if not errors:
        try:
            errors = [problem_line(p) for p in data_fit_errors(project)]
        except (ProjectError, SweepError) as e:
            errors = [str(e)]
        except Exception as e:  # noqa: BLE001 - a DataError: the data cannot be read
            errors = [str(e)]
    size = {"params": float(sum(a.total_params for a in analyses.values())),
            "flops": float(sum(a.total_flops for a in analyses.values()))}
    return errors, size


def finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
