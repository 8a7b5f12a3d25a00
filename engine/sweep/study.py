"""Objectives, samplers, pruners and the Optuna study a sweep lives in.

The study is stored in a real database so that a sweep survives its coordinator and several
coordinators can share it: SQLite in the project's runs folder by default
(``runs/sweeps/<name>.db``), any SQLAlchemy URL otherwise (PostgreSQL included). Optuna's own
heartbeat is not used: it would fail the trials a killed coordinator left running, and a
sweep resumes those from their checkpoints instead (see :mod:`engine.sweep.coordinator`).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.sweep.space import SearchRange, SweepError

SAMPLERS = ("tpe", "random", "grid", "nsga2")
PRUNERS = ("median", "hyperband", "none")
#: second objectives measured from the graph by shape analysis, without training
STATIC = ("params", "flops")
#: the study's user attribute holding what the sweep was made with
CONFIG_ATTR = "layerforge"


@dataclass(frozen=True)
class Objective:
    """``metric`` (``val_accuracy``, ``val_loss``, any ``val_*`` the task reports, or
    ``params``/``flops``) and whether it is maximised."""

    metric: str
    maximize: bool

    @property
    def direction(self) -> str:
        return "maximize" if self.maximize else "minimize"

    @property
    def static(self) -> bool:
        return self.metric in STATIC

    @property
    def val_name(self) -> str:
        """The key of EpochEnded.val this objective reads (``accuracy`` for val_accuracy)."""
        return self.metric.removeprefix("val_")

    def text(self) -> str:
        return f"{self.metric}:{'max' if self.maximize else 'min'}"

    def better(self, a: float, b: float) -> bool:
        return a > b if self.maximize else a < b


def parse_objective(text: str) -> Objective:
    metric, sep, way = text.strip().partition(":")
    metric, way = metric.strip(), way.strip().lower()
    if not sep or way not in ("max", "min") or not metric:
        raise SweepError(f"--objective {text!r}: write METRIC:max or METRIC:min, e.g. "
                         "val_accuracy:max or params:min")
    if metric not in STATIC and not metric.startswith("val_"):
        raise SweepError(f"--objective {text!r}: use a validation metric (val_accuracy, "
                         "val_loss, ...) or, as a second objective, params or flops")
    return Objective(metric, way == "max")


def check_objectives(objectives: list[Objective]) -> None:
    if not 1 <= len(objectives) <= 2:
        raise SweepError("give one or two --objective options (a validation metric, then "
                         "optionally params:min or flops:min)")
    if objectives[0].static:
        raise SweepError(f"--objective {objectives[0].text()}: the first objective must be a "
                         "validation metric (e.g. val_accuracy:max); params and flops come "
                         "second")
    if len(objectives) == 2 and objectives[0].metric == objectives[1].metric:
        raise SweepError(f"--objective {objectives[1].text()} is given twice")


def default_objective(task_kind: str) -> Objective:
    """val_accuracy:max for classification, else val_loss:min (every task reports it)."""
    if task_kind == "classification":
        return Objective("val_accuracy", True)
    return Objective("val_loss", False)


def default_sampler(n_objectives: int) -> str:
    return "nsga2" if n_objectives > 1 else "tpe"


def default_pruner(n_objectives: int) -> str:
    return "none" if n_objectives > 1 else "median"


def make_sampler(name: str, seed: int | None, space: dict[str, SearchRange],
                 n_objectives: int) -> Any:
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler({k: r.grid(k) for k, r in space.items()}, seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    raise SweepError(f"--sampler {name}: use one of {', '.join(SAMPLERS)}")


def grid_size(space: dict[str, SearchRange]) -> int:
    size = 1
    for key, rng in space.items():
        size *= len(rng.grid(key))
    return size


def make_pruner(name: str, n_objectives: int, trials: int, epochs: int) -> Any:
    """Median: a trial whose best epoch metric so far is worse than the median of the
    complete trials at the same epoch stops, once max(2, min(3, trials // 8)) trials are
    complete, from epoch :func:`pruning_warmup` on. Hyperband: budgets from 1 to the run's
    epochs. Pruning needs one objective (Optuna cannot prune a multi-objective study)."""
    import optuna

    if name not in PRUNERS:
        raise SweepError(f"--pruner {name}: use one of {', '.join(PRUNERS)}")
    if name != "none" and n_objectives > 1:
        raise SweepError(f"--pruner {name}: a sweep with two objectives cannot prune (Optuna "
                         "prunes one objective only); use --pruner none")
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=max(2, min(3, trials // 8)),
                                           n_warmup_steps=pruning_warmup(epochs))
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, epochs))
    return optuna.pruners.NopPruner()


def pruning_warmup(epochs: int) -> int:
    """The first epoch at which the median pruner may stop a trial: after 5 % of the run's
    epochs, at least the first. What a trial must be given before it is judged is a share
    of its training (a long run's first epochs say less of it), and every trial it prunes
    costs that many epochs: a fixed warm-up of 2 epochs made each pruned trial of a
    20-epoch sweep cost 2 epochs where the first already ranked it."""
    return max(1, round(epochs * 0.05))


class PruneCheck:
    """One trial's pruning decisions, by the study's own Optuna pruner, without reading the
    running trial back from the database at every epoch (a query of the running trials'
    every value and attribute: most of a report's cost, and a sweep decides at every epoch).

    A percentile pruner (the median pruner is one) reads only the study's direction, its
    complete trials and the trial's own values: the trial's values are kept here as they
    are reported, the complete trials are read at the trial's first decision and again
    when ``FRESH_S`` old. One lane alone cannot see a trial complete while its own trial
    runs, so a sequential sweep decides exactly as ``Trial.should_prune`` would; with more
    lanes or coordinators the median may be up to ``FRESH_S`` late. Any other pruner (it may
    keep state in the study, as hyperband does) is asked through ``Trial.should_prune``;
    with no pruner nothing is asked."""

    FRESH_S = 5.0

    def __init__(self, study: Any, trial: Any, reported: dict[int, float]) -> None:
        self.study = study
        self.trial = trial
        self.values = dict(reported)
        self._complete: list[Any] | None = None
        self._read_at = 0.0

    def report(self, value: float, step: int) -> bool:
        """Report ``value`` at ``step`` (an epoch) and say whether the trial should stop."""
        import optuna

        self.trial.report(value, step)
        self.values[step] = value
        pruner = self.study.pruner
        if isinstance(pruner, optuna.pruners.NopPruner):
            return False  # no pruner, no decision (should_prune would read the trial back)
        if not isinstance(pruner, optuna.pruners.PercentilePruner):
            return bool(self.trial.should_prune())
        if self._complete is None or time.monotonic() - self._read_at > self.FRESH_S:
            self._complete = self.study.get_trials(
                deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            self._read_at = time.monotonic()
        frozen = optuna.trial.FrozenTrial(
            number=self.trial.number, state=optuna.trial.TrialState.RUNNING, value=None,
            datetime_start=None, datetime_complete=None, params={}, distributions={},
            user_attrs={}, system_attrs={}, intermediate_values=dict(self.values),
            trial_id=self.trial._trial_id)
        return bool(pruner.prune(_CompleteTrials(self.study.direction, self._complete), frozen))


@dataclass(frozen=True)
class _CompleteTrials:
    """The study as a percentile pruner reads it (``direction``, ``get_trials``)."""

    direction: Any
    complete: list[Any]

    def get_trials(self, deepcopy: bool = False, states: Any = None) -> list[Any]:
        return [t for t in self.complete if states is None or t.state in states]


def default_storage(runs_folder: Path, name: str, make: bool = True) -> str:
    """``sqlite:///RUNS/sweeps/NAME.db`` (the folder is made unless ``make`` is False;
    :func:`open_storage` makes it when the study is opened)."""
    folder = runs_folder / "sweeps"
    if make:
        _make_folder(folder)
    return f"sqlite:///{(folder / f'{name}.db').resolve()}"


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        from engine.errors import os_reason

        raise SweepError(f"{folder}: cannot make the sweeps folder ({os_reason(e)})") from None


#: how many times a coordinator tries to open a database another one is setting up
_OPEN_TRIES = 5


def open_storage(url: str) -> Any:
    """An Optuna RDBStorage for ``url``; SQLite waits for a busy database rather than
    failing at once (several coordinators, or the app beside the CLI), and is put in WAL
    mode with ``synchronous=NORMAL`` (see :func:`_sqlite_pragmas`)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    sqlite = url.startswith("sqlite")
    if sqlite:
        kwargs = {"connect_args": {"timeout": 60}}
        path = url.removeprefix("sqlite:///")
        if url.startswith("sqlite:///") and path and not path.startswith(":memory:"):
            _make_folder(Path(path.partition("?")[0]).parent)
    import sqlalchemy.exc

    for attempt in range(_OPEN_TRIES):
        try:
            storage = optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
            if sqlite:
                _sqlite_pragmas(storage.engine)
            return storage
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as e:
            # coordinators starting together on an empty database create Optuna's tables at
            # once; the loser's CREATE fails, and the tables exist when it tries again
            if attempt == _OPEN_TRIES - 1:
                raise SweepError(f"--storage {_safe_url(url)}: cannot open the study "
                                 f"database ({_first_line(e)})") from None
            time.sleep(0.2 + random.random() * 0.5)
        except Exception as e:  # noqa: BLE001 - SQLAlchemy and drivers raise many kinds
            raise SweepError(f"--storage {_safe_url(url)}: cannot open the study database "
                             f"({_first_line(e)})") from None
    raise AssertionError("unreachable")


def _sqlite_pragmas(engine: Any) -> None:
    """Every connection of ``engine`` from now on writes the SQLite study in WAL mode with
    ``synchronous=NORMAL``: a commit appends to the write-ahead log without waiting for the
    disk (the default waits for several fsyncs, milliseconds each on a busy disk, and a
    sweep commits at every epoch of every trial). A killed coordinator loses nothing it
    committed; a power cut or an operating system crash may lose the last commits, never
    the database's consistency. WAL needs the database on a local disk (not a network
    share), as several coordinators on one SQLite file already do. Optuna opened (and
    pooled) its first connections before this: they are let go, so the next ones get it."""
    from sqlalchemy import event

    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    event.listen(engine, "connect", pragmas)
    engine.dispose()


def open_study(storage_url: str, name: str, objectives: list[Objective], *, sampler: Any,
               pruner: Any, config: dict[str, Any]) -> Any:
    """Create the study ``name`` or load it when it exists (another coordinator, or a
    resume). An existing study must have been made with the same ranges and objectives.
    ``config`` is stored with a new study as its ``layerforge`` user attribute."""
    import optuna

    storage = open_storage(storage_url)
    try:
        study = optuna.create_study(storage=storage, study_name=name, sampler=sampler,
                                    pruner=pruner, load_if_exists=True,
                                    directions=[o.direction for o in objectives])
    except Exception as e:  # noqa: BLE001
        raise SweepError(f"study {name!r} in {_safe_url(storage_url)}: cannot be opened "
                         f"({_first_line(e)})") from None
    old = study.user_attrs.get(CONFIG_ATTR)
    if old is None:
        _set_config(study, config)
        return study
    for field in ("space", "objectives"):
        if old.get(field) != config.get(field):
            raise SweepError(f"study {name!r} in {_safe_url(storage_url)} was made with "
                             f"other {field} ({old.get(field)}); give the same --param and "
                             "--objective options, or another --name")
    return study


def _set_config(study: Any, config: dict[str, Any]) -> None:
    try:
        study.set_user_attr(CONFIG_ATTR, config)
    except Exception:  # noqa: BLE001 - a second coordinator made it meanwhile: same data
        logging.getLogger(__name__).debug("study config already set", exc_info=True)


def stored_config(storage_url: str, name: str) -> dict[str, Any] | None:
    """What an existing study was made with (None when there is no such study)."""
    import optuna

    storage = open_storage(storage_url)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return None
    return study.user_attrs.get(CONFIG_ATTR)


def _safe_url(url: str) -> str:
    """The URL without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy can read: show its scheme only
        return url.split("://", 1)[0] + "://..."


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:300] if lines else type(e).__name__
