"""What the block statistics of one run say, kept plain (no widgets): the history of every
block's statistics (``BlockStats`` events, engine/train/events.py) and the rule that grades
a block's latest statistics green, amber or red. The canvas badges and the Block health
panel read the same :class:`HealthHistory`, so they always agree.

The rule (:func:`grade`), on the block's latest statistics; the worst reason wins:

- *red*: its output or gradient was not finite (a NaN/inf recorded as an empty value, or a
  ``Warning`` naming the block); 90% or more of its units dead (or saturated); an update
  ratio above 1e-1 or below 1e-7 (ten thousand times off the ~1e-3 a healthy step takes);
  a gradient norm above 1e4 or below 1e-9;
- *amber*: 50% or more dead or saturated; an update ratio above 1e-2 or below 1e-5; a
  gradient norm above 1e2 or below 1e-6;
- *green* otherwise. A statistic that does not apply (None: no parameters, not a ReLU-like
  block) never counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: the statistics of a block, as BlockStats names them
STATS = ("act_mean", "act_std", "dead", "grad_out", "grad_params", "update_ratio", "param_norm")
#: what each is called on screen
TITLES = {"act_mean": "activation mean", "act_std": "activation std",
          "dead": "dead / saturated", "grad_out": "gradient norm (output)",
          "grad_params": "gradient norm (params)", "update_ratio": "update ratio",
          "param_norm": "weight norm"}
#: statistics that span decades: plotted on a log scale
LOG_STATS = frozenset({"grad_out", "grad_params", "update_ratio", "param_norm"})

LEVELS = ("ok", "warn", "bad")  # green, amber, red
DEAD = {"warn": 0.5, "bad": 0.9}
#: (below, above) outside which the update ratio is amber / red
RATIO = {"warn": (1e-5, 1e-2), "bad": (1e-7, 1e-1)}
#: (below, above) outside which a gradient norm is amber / red
GRAD = {"warn": (1e-6, 1e2), "bad": (1e-9, 1e4)}
#: points kept per block: past it every other point goes (the sparkline and the plot still
#: cover the whole run)
MAX_POINTS = 4096

Values = Mapping[str, float | None]


@dataclass(frozen=True)
class Grade:
    """A block's health: ``level`` ("ok", "warn", "bad"), the sentences saying why (empty
    when ok) and the statistic that decided it (for the sparkline)."""

    level: str
    reasons: tuple[str, ...] = ()
    stat: str = ""


def fmt_stat(name: str, v: float | None) -> str:
    """A statistic for a table cell or a tooltip: "—" where it does not apply."""
    if v is None:
        return "—"
    if not math.isfinite(v):
        return "not finite"
    if name == "dead":
        return f"{100 * v:.0f}%"
    if name in LOG_STATS:
        return f"{v:.2e}" if v else "0"
    return f"{v:.3g}"


def _finite(v: object) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and \
        math.isfinite(v) else None


def _number(v: object) -> float | None:
    """A finite float or int as is (the statistics are plain JSON numbers), else None."""
    cls = v.__class__
    if cls is float:
        return v if -math.inf < v < math.inf else None  # type: ignore[operator, return-value]
    return v if cls is int else None  # type: ignore[return-value]


def grade(values: Values, nonfinite: bool = False) -> Grade:
    """Grade one block's statistics (see the module docstring for the rule). Called for
    every block on every measurement, so it does the comparisons only and makes its
    sentences when something is found."""
    found: list[tuple[int, str, str]] = []  # (level index, reason, statistic)
    if nonfinite or ("act_mean" in values and values.get("act_mean") is None
                     and values.get("act_std") is None) or any(
            v.__class__ is float and not -math.inf < v < math.inf  # type: ignore[operator]
            for v in values.values()):
        found.append((2, "its output or gradient became NaN or infinite", "act_std"))
    dead = _number(values.get("dead"))
    if dead is not None and dead >= DEAD["warn"]:
        found.append((2 if dead >= DEAD["bad"] else 1,
                      f"{100 * dead:.0f}% of its units are dead or saturated", "dead"))
    ratio = _number(values.get("update_ratio"))
    if ratio is not None and not RATIO["warn"][0] <= ratio <= RATIO["warn"][1]:
        bad = not RATIO["bad"][0] <= ratio <= RATIO["bad"][1]
        side = "above" if ratio > RATIO["warn"][1] else "below"
        found.append((2 if bad else 1,
                      f"update ratio {ratio:.1e}, far {side} the ~1e-3 of a healthy step",
                      "update_ratio"))
    for stat, what in (("grad_out", "output"), ("grad_params", "parameters")):
        g = _number(values.get(stat))
        if g is not None and not GRAD["warn"][0] <= g <= GRAD["warn"][1]:
            bad = not GRAD["bad"][0] <= g <= GRAD["bad"][1]
            kind = "exploding" if g > GRAD["warn"][1] else "vanishing"
            found.append((2 if bad else 1, f"gradient of its {what} {g:.1e} ({kind})", stat))
    if not found:
        stat = next((s for s in ("update_ratio", "grad_out", "act_std")
                     if _number(values.get(s)) is not None), "")
        return Grade("ok", (), stat)
    found.sort(key=lambda f: -f[0])
    return Grade(LEVELS[found[0][0]], tuple(f[1] for f in found), found[0][2])


class BlockSeries:
    """One block's statistics over the steps measured, oldest first."""

    __slots__ = ("steps", "values")

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.values: list[Values] = []

    def add(self, step: int, values: Values) -> None:
        if self.steps and step <= self.steps[-1]:
            # a resumed run measures again from its checkpoint: what came after it goes
            keep = next((i for i, s in enumerate(self.steps) if s >= step), len(self.steps))
            del self.steps[keep:], self.values[keep:]
        self.steps.append(step)
        self.values.append(values)
        if len(self.steps) > MAX_POINTS:
            last_step, last_values = self.steps[-1], self.values[-1]
            self.steps, self.values = self.steps[::2], self.values[::2]
            if self.steps[-1] != last_step:  # the newest point always stays
                self.steps.append(last_step)
                self.values.append(last_values)

    def series(self, stat: str) -> tuple[list[int], list[float]]:
        """(steps, values) of one statistic; a value that does not apply or is not
        finite is a NaN (a gap in a curve)."""
        ys = [v if (v := _finite(d.get(stat))) is not None else math.nan for d in self.values]
        return list(self.steps), ys


class HealthHistory:
    """The block statistics of one run: ``add_stats`` takes each BlockStats event's step and
    blocks (``"GRAPH/NODE"`` -> statistics), ``mark_nonfinite`` a block a NaN warning names.
    ``revision`` grows with every change (views redraw only when it moved)."""

    def __init__(self, run_dir: str | None = None) -> None:
        self.run_dir = run_dir
        self.blocks: dict[str, BlockSeries] = {}  # in the forward pass's order
        self.nonfinite: set[str] = set()
        self.last_step = 0
        self.revision = 0
        self._grades: dict[str, Grade] = {}

    def __bool__(self) -> bool:
        return bool(self.blocks)

    def add_stats(self, step: int, blocks: Mapping[str, Values]) -> None:
        for key, values in blocks.items():
            series = self.blocks.get(key)
            if series is None:
                series = self.blocks[key] = BlockSeries()
            series.add(step, values)
        self.last_step = step
        self._grades.clear()
        self.revision += 1

    def add_events(self, events: Iterable[object]) -> None:
        """Add BlockStats-shaped events (``step`` and ``blocks``) in order."""
        for ev in events:
            self.add_stats(int(getattr(ev, "step", 0)), getattr(ev, "blocks", {}))

    def mark_nonfinite(self, key: str) -> None:
        if key and key not in self.nonfinite:
            self.nonfinite.add(key)
            self._grades.pop(key, None)
            self.revision += 1

    def latest(self, key: str) -> Values:
        series = self.blocks.get(key)
        return series.values[-1] if series is not None and series.values else {}

    def grade(self, key: str) -> Grade:
        """The block's grade on its latest statistics (cached until the next change)."""
        g = self._grades.get(key)
        if g is None:
            g = self._grades[key] = grade(self.latest(key), key in self.nonfinite)
        return g
