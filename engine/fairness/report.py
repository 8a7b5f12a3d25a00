"""The bias report: per-group metrics and the gaps between groups, by Fairlearn.

Every figure comes from Fairlearn's ``MetricFrame`` with scikit-learn and Fairlearn
metrics (docs/fairness.md says what each means). With two classes, precision, recall
and F1 are those of the positive class; with more, they are macro averages over the
classes present in the group (true or predicted). The selection rate is the share of
samples predicted as the positive class; demographic parity and equalized odds treat
"is the positive class" as the outcome, so they are defined for any number of classes.

Groups with fewer than ``min_group`` samples are reported but flagged ``small``: they
are left out of the differences, the ratios and the ranking, since a handful of samples
says little about a group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

METRICS = ("count", "accuracy", "precision", "recall", "f1", "selection_rate")
#: how the CLI table and the app label the metrics
METRIC_LABELS = {"count": "count", "accuracy": "accuracy", "precision": "precision",
                 "recall": "recall", "f1": "F1", "selection_rate": "selection"}
GAPS = ("demographic_parity_difference", "demographic_parity_ratio",
        "equalized_odds_difference", "equalized_odds_ratio")
POSITIVE_NAMES = ("positive", "1", "yes", "true")


def default_positive(classes: Sequence[str]) -> str:
    """The class counted as the positive outcome when none is chosen: one named
    positive, 1, yes or true (in that order, ignoring case), else the first class."""
    lower = [c.lower() for c in classes]
    for name in POSITIVE_NAMES:
        if name in lower:
            return classes[lower.index(name)]
    return classes[0]


@dataclass
class GroupingReport:
    """One grouping's figures. ``groups``: group name -> metric -> value (NaN where the
    metric is undefined for that group), in group name order; ``small``: the groups
    under ``min_group``; ``gaps``: the four gap figures over the judged groups (None when
    fewer than two groups are judged)."""

    name: str
    groups: dict[str, dict[str, float]]
    overall: dict[str, float]
    small: list[str]
    gaps: dict[str, float | None]

    @property
    def judged(self) -> list[str]:
        """The groups large enough to compare."""
        return [g for g in self.groups if g not in self.small]

    def ranked(self, metric: str = "accuracy") -> list[str]:
        """The judged groups, worst ``metric`` first (NaN last); small groups are not ranked."""
        def key(g: str) -> tuple[bool, float]:
            v = self.groups[g][metric]
            return (math.isnan(v), v)
        return sorted(self.judged, key=key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": [{"group": g, **_row(row), "small": g in self.small}
                       for g, row in self.groups.items()],
            "overall": _row(self.overall),
            "small": list(self.small),
            "ranking": self.ranked(),
            # the direction of each gap: the judged groups with the lowest and highest value
            "extremes": {m: {"lowest": r[0], "highest": r[-1]} for m in METRICS[1:]
                         if (r := self.ranked(m))},
            **{k: _plain(v) for k, v in self.gaps.items()},
        }


@dataclass
class BiasReport:
    """The report of one or more groupings over the same predictions."""

    groupings: dict[str, GroupingReport]
    min_group: int
    positive: str
    classes: list[str]
    split: str = ""
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> GroupingReport:
        return self.groupings[name]

    def only(self, name: str) -> BiasReport:
        """The same report with one grouping."""
        return BiasReport({name: self.groupings[name]}, self.min_group, self.positive,
                          self.classes, self.split, self.notes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (NaN as null): what RUN/fairness.json holds."""
        return {"version": 1, "split": self.split, "min_group": self.min_group,
                "positive": self.positive, "classes": list(self.classes),
                "notes": list(self.notes),
                "groupings": {n: r.to_dict() for n, r in self.groupings.items()}}

    def table(self, escape: Any = str) -> str:
        """The report as text for a terminal; ``escape`` makes group names safe to print."""
        from engine.fairness.text import report_lines

        return "\n".join(report_lines(self.to_dict(), escape))


def _plain(v: Any) -> Any:
    """A figure as JSON: NaN and infinities (a metric undefined for a group) as null."""
    if v is None or isinstance(v, int | bool):
        return v
    f = float(v)
    return f if math.isfinite(f) else None


def _row(row: dict[str, float]) -> dict[str, Any]:
    return {m: int(v) if m == "count" else _plain(v) for m, v in row.items()}


def bias_report(y_true: Sequence[Any], y_pred: Sequence[Any], groups: dict[str, list[str]], *,
                min_group: int, positive: str | int | None = None,
                classes: Sequence[str] | None = None, split: str = "") -> BiasReport:
    """Per-group metrics and gaps for each grouping in ``groups`` (name -> the group of
    each sample). ``y_true``/``y_pred`` are class indices into ``classes`` or class
    names; ``positive`` is the positive class's name or index (None:
    :func:`default_positive`)."""
    import numpy as np

    names = [str(c) for c in classes] if classes else None
    true = _labels(y_true, names)
    pred = _labels(y_pred, names)
    if names is None:
        names = sorted(set(true) | set(pred))
    if isinstance(positive, int) and not isinstance(positive, bool) and 0 <= positive < len(names):
        positive = names[positive]
    pos = default_positive(names) if positive is None else str(positive)
    if pos not in names:
        from engine.fairness.groups import GroupingError

        raise GroupingError(f"the positive class '{pos}' is not a class of the data; choose "
                            f"one of {', '.join(repr(c) for c in names)}")
    t, p = np.asarray(true, dtype=object), np.asarray(pred, dtype=object)
    out = {name: _one(name, t, p, np.asarray(g, dtype=object), min_group, pos, len(names))
           for name, g in groups.items()}
    return BiasReport(out, min_group, pos, list(names), split)


def _labels(y: Sequence[Any], names: list[str] | None) -> list[str]:
    if hasattr(y, "tolist"):
        y = y.tolist()
    if names is None:
        return [str(v) for v in y]
    return [names[int(v)] if isinstance(v, int) and not isinstance(v, bool) else str(v)
            for v in y]


def _one(name: str, t: Any, p: Any, g: Any, min_group: int, pos: str,
         n_classes: int) -> GroupingReport:
    import numpy as np
    from fairlearn.metrics import (
        MetricFrame,
        count,
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        equalized_odds_ratio,
        selection_rate,
    )
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    if len(g) != len(t):
        from engine.fairness.groups import GroupingError

        raise GroupingError(f"grouping '{name}' gives {len(g)} groups for {len(t)} samples")
    avg = {"average": "binary", "pos_label": pos} if n_classes == 2 else {"average": "macro"}

    def scored(fn: Any) -> Any:
        return lambda a, b: fn(a, b, zero_division=0, **avg)

    metrics = {"count": count, "accuracy": accuracy_score,
               "precision": scored(precision_score), "recall": scored(recall_score),
               "f1": scored(f1_score),
               "selection_rate": lambda a, b: selection_rate(a, b, pos_label=pos)}
    frame = MetricFrame(metrics=metrics, y_true=t, y_pred=p, sensitive_features=g)
    by = frame.by_group
    groups = {str(k): {m: float(by.loc[k, m]) for m in METRICS} for k in by.index}
    overall = {m: float(frame.overall[m]) for m in METRICS}
    small = [k for k, row in groups.items() if row["count"] < min_group]
    keep = np.isin(g, [k for k in groups if k not in small])
    gaps: dict[str, float | None] = dict.fromkeys(GAPS)
    if len(set(g[keep].tolist())) >= 2:
        bt = (t[keep] == pos).astype(int)
        bp = (p[keep] == pos).astype(int)
        sf = g[keep]
        for key, fn in (("demographic_parity_difference", demographic_parity_difference),
                        ("demographic_parity_ratio", demographic_parity_ratio),
                        ("equalized_odds_difference", equalized_odds_difference),
                        ("equalized_odds_ratio", equalized_odds_ratio)):
            gaps[key] = float(fn(bt, bp, sensitive_features=sf))
    return GroupingReport(name, groups, overall, small, gaps)
