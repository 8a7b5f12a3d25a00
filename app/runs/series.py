"""The numbers behind a run's curves, in plain numpy: growing x/y buffers that keep their
own bounds, and the debiased moving average that smooths the step loss.

Why buffers with bounds: the live plots append a few points many times a second to curves
of 1e5+ points. Appending here is amortised O(new points) and so is keeping the bounds, so
the plots auto-range without scanning the curves (``app/panels/plot_data.py``).
"""

from __future__ import annotations

import math

import numpy as np

EMA_WEIGHT = 0.9  # smoothing of the step loss, debiased like TensorBoard's


class Bounds:
    """Running bounds of finite points: x, y, and the smallest positive y (for log axes)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.x0 = self.y0 = self.ypos = math.inf
        self.x1 = self.y1 = -math.inf

    @property
    def empty(self) -> bool:
        return self.x0 > self.x1

    def add(self, xs: np.ndarray, ys: np.ndarray) -> None:
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.all():
            xs, ys = xs[ok], ys[ok]
        if not len(xs):
            return
        self.x0 = min(self.x0, float(xs.min()))
        self.x1 = max(self.x1, float(xs.max()))
        self.y0 = min(self.y0, float(ys.min()))
        self.y1 = max(self.y1, float(ys.max()))
        pos = ys[ys > 0]
        if len(pos):
            self.ypos = min(self.ypos, float(pos.min()))

    def merge(self, other: Bounds) -> None:
        self.x0, self.x1 = min(self.x0, other.x0), max(self.x1, other.x1)
        self.y0, self.y1 = min(self.y0, other.y0), max(self.y1, other.y1)
        self.ypos = min(self.ypos, other.ypos)

    def copy(self) -> Bounds:
        out = Bounds()
        out.merge(self)
        return out


class GrowingBuffer:
    """x/y float64 arrays that double their capacity when full (amortised O(1) appends),
    with the running bounds of what they hold. ``x``/``y`` are views of the points held:
    copy them to keep them past a ``clear``."""

    def __init__(self, capacity: int = 1024) -> None:
        self._x = np.empty(capacity)
        self._y = np.empty(capacity)
        self.n = 0
        self.bounds = Bounds()

    def extend(self, xs: list[float] | np.ndarray, ys: list[float] | np.ndarray) -> None:
        xs = np.asarray(xs, dtype=float)
        ys = np.asarray(ys, dtype=float)
        k = len(xs)
        if self.n + k > len(self._x):
            cap = max(2 * len(self._x), self.n + k)
            for name in ("_x", "_y"):
                bigger = np.empty(cap)
                bigger[: self.n] = getattr(self, name)[: self.n]
                setattr(self, name, bigger)
        self._x[self.n: self.n + k] = xs
        self._y[self.n: self.n + k] = ys
        self.n += k
        self.bounds.add(xs, ys)

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.n]

    def clear(self) -> None:
        self.n = 0
        self.bounds.reset()


class Ema:
    """Debiased exponential moving average fed in chunks: the values it returns do not
    depend on how the input was split. Non-finite values are skipped (the previous average
    is carried over); before the first finite value the average is NaN."""

    def __init__(self, weight: float = EMA_WEIGHT) -> None:
        self.weight = weight
        self.reset()

    def reset(self) -> None:
        self._acc = 0.0
        self._norm = 0.0

    def extend(self, values: np.ndarray) -> np.ndarray:
        w, acc, norm = self.weight, self._acc, self._norm
        out = []
        for v in np.asarray(values, dtype=float).tolist():  # Python floats: a faster loop
            if math.isfinite(v):
                acc = w * acc + (1 - w) * v
                norm = w * norm + (1 - w)
            out.append(acc / norm if norm else math.nan)
        self._acc, self._norm = acc, norm
        return np.array(out, dtype=float)


def ema(values: np.ndarray, weight: float = EMA_WEIGHT) -> np.ndarray:
    """The debiased moving average of a whole series (see :class:`Ema`)."""
    return Ema(weight).extend(values)
