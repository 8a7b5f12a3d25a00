"""The Fairness view's background work and the plain values it shows.

``compute`` runs :func:`engine.fairness.evaluate_run` (it loads the run's weights and data
and predicts a split: it imports torch, so the view runs it on a :class:`Jobs` thread) and
``read_saved`` reads the report a finished run left in ``RUN/fairness.json``. Both give a
:class:`FairnessResult`: the run, the split and one :class:`GroupingReport` per grouping,
read from ``BiasReport.to_dict()``, so a computed report and a saved one are shown by the
same code. Nothing here touches a widget or imports torch at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import UserError
from engine.project import FairnessSpec

#: the per-group metrics, in the table's order, with their column titles
METRICS = (("accuracy", "Accuracy"), ("precision", "Precision"), ("recall", "Recall"),
           ("f1", "F1"), ("selection_rate", "Selection rate"))
#: the parity figures above a grouping's table, with their names
PARITY = (("demographic_parity_difference", "Demographic parity difference"),
          ("demographic_parity_ratio", "ratio"),
          ("equalized_odds_difference", "Equalized odds difference"),
          ("equalized_odds_ratio", "ratio"))


@dataclass(frozen=True)
class GroupRow:
    """One group of a grouping: its size, its metrics and whether it is too small to
    judge (``small``: listed, never ranked)."""

    name: str
    count: int
    metrics: dict[str, float | None]
    small: bool


@dataclass(frozen=True)
class GroupingReport:
    """The bias report of one grouping, as ``GroupingReport.to_dict()`` holds it."""

    name: str
    groups: list[GroupRow]
    overall: dict[str, float | None]
    parity: dict[str, float | None]
    min_group: int

    @property
    def judged(self) -> list[GroupRow]:
        return [g for g in self.groups if not g.small]

    @property
    def small(self) -> list[GroupRow]:
        return [g for g in self.groups if g.small]

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any], min_group: int) -> GroupingReport:
        """Read one grouping's ``to_dict()`` (engine/fairness/report.py)."""
        rows = [GroupRow(str(g.get("group", "")), int(g.get("count") or 0),
                         {k: _number(g.get(k)) for k, _ in METRICS}, bool(g.get("small")))
                for g in d.get("groups", []) if isinstance(g, dict)]
        overall = d.get("overall") or {}
        return cls(name, rows, {k: _number(overall.get(k)) for k in ("count", *dict(METRICS))},
                   {k: _number(d.get(k)) for k, _ in PARITY}, min_group)


@dataclass(frozen=True)
class FairnessResult:
    """What the view shows for a run and split; ``saved``: read from fairness.json, not
    computed now. ``positive``: the class counted as the positive outcome (selection
    rate, parity); ``notes``: the report's remarks (a group column the model reads)."""

    run_dir: str
    split: str
    reports: list[GroupingReport] = field(default_factory=list)
    positive: str = ""
    notes: list[str] = field(default_factory=list)
    saved: bool = False

    @classmethod
    def from_dict(cls, run_dir: str, d: dict[str, Any], saved: bool) -> FairnessResult:
        """Read ``BiasReport.to_dict()`` (what fairness.json holds)."""
        min_group = int(d.get("min_group") or 30)
        groupings = d.get("groupings") or {}
        return cls(str(run_dir), str(d.get("split", "")),
                   [GroupingReport.from_dict(str(n), g, min_group)
                    for n, g in groupings.items() if isinstance(g, dict)],
                   str(d.get("positive", "")), [str(n) for n in d.get("notes") or []], saved)


def _number(v: Any) -> float | None:
    """A metric as a float; None for what the report could not compute (null)."""
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def read_saved(run_dir: str, split: str) -> FairnessResult | None:
    """The report the run's evaluation saved for ``split``, or None when it saved none
    (or one of the other split). A small JSON file: read on the GUI thread."""
    from engine.fairness.run import read_fairness

    data = read_fairness(run_dir)
    if data is None or data.get("split", split) != split:
        return None
    return FairnessResult.from_dict(run_dir, data, saved=True)


def compute(run_dir: str, split: str, fairness: FairnessSpec | None) -> FairnessResult:
    """The bias report of ``run_dir``'s ``split`` (worker thread: imports torch); the
    engine keeps it in the run's fairness.json for the next time and the model card.

    ``fairness``: the groupings to use (the project's as edited now); None uses those
    the run was trained with."""
    from engine.fairness import evaluate_run
    from engine.project import load_project

    project = None
    if fairness is not None:
        project = load_project(Path(run_dir) / "project.lforge")
        project.fairness = fairness.model_copy(deep=True)
    if project is not None and not project.fairness.groupings:
        raise UserError("No groupings yet: add one (a CSV column, a folder level or a "
                        "metadata file) above, then Compute.")
    reports = evaluate_run(run_dir, split=split, project=project)
    if not reports:
        return FairnessResult(str(run_dir), split)
    first = next(iter(reports.values())).to_dict()
    first["groupings"] = {name: r[name].to_dict() for name, r in reports.items()}
    return FairnessResult.from_dict(str(run_dir), first, saved=False)
