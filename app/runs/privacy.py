"""What a differentially private run has spent: the epsilon of each ``Privacy`` event at its
step, the target the run aims for and the delta it is measured at, and the one line a run's
summary shows ("ε = 2.97 at δ = 1e-4 (target 3)").

``PrivacyTrack`` is part of ``RunHistory`` (app/runs/history.py), so a run's privacy curve
comes live, as an overlay and after a restart from the same events as its other curves.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from app.runs.series import GrowingBuffer
from engine.train.events import Event, Privacy, RunStarted, read_events
from engine.train.privacy_record import read_privacy


class PrivacyTrack:
    """The epsilon spent so far, one point per epoch at its step (``points``); ``private``
    once the run says it trains with privacy (its config, or a Privacy event); ``target``
    and ``delta`` as last reported (``delta`` None until the first event: 1/N is decided
    when the data are loaded)."""

    def __init__(self) -> None:
        self.points = GrowingBuffer(capacity=64)
        self.private = False
        self.target: float | None = None
        self.delta: float | None = None

    def add(self, ev: Event) -> bool:
        """Take a RunStarted (a fresh one starts over) or a Privacy event; whether the
        curve or its target changed."""
        match ev:
            case RunStarted(resumed_from=resumed, config=config):
                if not resumed:
                    self.clear()
                spec = config.get("privacy") if isinstance(config, dict) else None
                if isinstance(spec, dict) and spec.get("enabled"):
                    self.private = True
                    self.target = _number(spec.get("epsilon"))
                    self.delta = _number(spec.get("delta"))
                    return True
            case Privacy(step=step, epsilon=epsilon, delta=delta, target=target):
                self.private = True
                self.points.extend((float(step),), (float(epsilon),))
                self.target = _number(target) or self.target
                self.delta = _number(delta) or self.delta
                return True
        return False

    def clear(self) -> None:
        self.points.clear()
        self.private = False
        self.target = self.delta = None

    @property
    def spent(self) -> float | None:
        """The epsilon spent at the latest report."""
        return float(self.points.y[-1]) if self.points.n else None


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
        return None
    return float(v)


def delta_text(delta: float) -> str:
    """A delta as people write it: 1e-4, 6.96e-4, 0.01."""
    if delta >= 1e-3:
        return f"{delta:.3g}"
    mantissa, exp = f"{delta:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exp)}"


def describe(epsilon: float, delta: float | None, target: float | None) -> str:
    """``ε = 2.97 at δ = 1e-4 (target 3)``."""
    text = f"ε = {epsilon:.2f}"
    if delta:
        text += f" at δ = {delta_text(delta)}"
    if target:
        text += f" (target {target:g})"
    return text


def run_privacy(run_dir: str | Path) -> str:
    """The privacy a run folder's training spent, as :func:`describe` says it; "" for a run
    without privacy. Read from ``privacy.json`` (written at the end), else, for a run whose
    snapshot has privacy on but that has not finished, from its last ``Privacy`` event."""
    path = Path(run_dir)
    record = read_privacy(path)
    if record is not None:
        return describe(float(record["epsilon"]), _number(record.get("delta")),
                        _number(record.get("target")))
    if not _trained_privately(path):  # no need to read a long events.jsonl
        return ""
    track = PrivacyTrack()
    for ev in read_events(path / "events.jsonl"):
        track.add(ev)
    if track.spent is None:
        return ""
    return describe(track.spent, track.delta, track.target) + " so far"


def _trained_privately(path: Path) -> bool:
    """Whether the run's project snapshot has privacy on."""
    try:
        data = json.loads((path / "project.lforge").read_text(encoding="utf-8"))
        return bool(data["training"]["privacy"]["enabled"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
