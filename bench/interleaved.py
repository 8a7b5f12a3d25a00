"""Training throughput of the engine against a hand-written loop, measured interleaved: after
each epoch the engine reports, one hand-written epoch runs, so both see the same machine
state; the first epoch of each warms up and is left out, and medians are compared."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable


def engine_vs_handwritten(events: Iterable, hand_epoch: Callable[[], float],
                          samples: int) -> tuple[float, float]:
    """(engine, hand-written) samples per second over the epochs of a training run's
    ``events``; ``hand_epoch()`` runs one hand-written epoch and returns its seconds."""
    times: dict[str, list[float]] = {"engine": [], "hand": []}
    for ev in events:
        if ev.type == "failed":
            raise RuntimeError(ev.message)
        if ev.type != "epoch_ended":
            continue
        t = hand_epoch()
        if ev.epoch > 1:
            times["engine"].append(ev.seconds)
            times["hand"].append(t)
    if not times["engine"]:
        raise RuntimeError("the throughput comparison needs at least two epochs")
    eng, hand = (samples / statistics.median(times[k]) for k in ("engine", "hand"))
    return eng, hand
