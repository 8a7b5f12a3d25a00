"""Rows of numbers for "Try it": one sequence of floats per sample, checked against what
the model takes and normalised as the run's data were (per feature, the last dimension:
``(x - mean) / std`` with the training split's statistics), in float32 as the data."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data import DataError
from engine.train.predict_facts import feature_names

if TYPE_CHECKING:
    import torch

    from engine.train.inference import LoadedRun

#: names listed in a message before "..."
SHOWN_NAMES = 8


def describe(row: Any) -> str:
    """How an answer names a row: its numbers, comma separated ("5.1, 3.5, 1.4")."""
    try:
        return ", ".join(f"{float(v):g}" for v in np.asarray(row, dtype=np.float64).ravel())
    except (TypeError, ValueError):
        return str(row)


def takes(loaded: LoadedRun) -> str:
    """What the model takes, for messages: "4 numbers (sepal_length, sepal_width, ...)"."""
    n = math.prod(loaded.bundle.input_shape)
    names = feature_names(loaded.info or {})
    listed = ""
    if names:
        more = ", ..." if len(names) > SHOWN_NAMES else ""
        listed = f" ({', '.join(names[:SHOWN_NAMES])}{more})"
    return f"{n} number{'s' if n != 1 else ''}{listed}"


def read_rows(loaded: LoadedRun, rows: Sequence[Any]) -> torch.Tensor:
    """The rows as the model input [N, *input_shape], float32, normalised."""
    import torch

    bundle = loaded.bundle
    shape = tuple(int(d) for d in bundle.input_shape)
    n = math.prod(shape)
    out = np.empty((len(rows), n), dtype=np.float32)
    for i, row in enumerate(rows):
        if isinstance(row, str | bytes):
            raise DataError(f"row {i + 1}: give the numbers themselves, not the text {row!r}")
        try:
            values = np.asarray(row, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise DataError(f"row {i + 1}: this model takes {takes(loaded)}; the row holds "
                            "something that is not a number") from None
        if values.size != n:
            raise DataError(f"row {i + 1}: this model takes {takes(loaded)}, not {values.size}")
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            names = feature_names(loaded.info or {})
            where = names[bad[0]] if names else f"value {bad[0] + 1}"
            raise DataError(f"row {i + 1}: {where} is {values[bad[0]]}; give a finite number")
        out[i] = values
    x = torch.from_numpy(out).reshape(len(rows), *shape)
    if bundle.mean is not None and bundle.std is not None:
        # the loader's arithmetic (engine.data.loader._apply): float32, per last dimension
        x = x.sub_(torch.tensor(bundle.mean, dtype=x.dtype)).div_(
            torch.tensor(bundle.std, dtype=x.dtype))
    return x
