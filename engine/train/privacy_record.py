"""A private run's record, ``RUN/privacy.json`` (written by engine.train.privacy at the end of
the run), read without torch: the model card, the runs list and the app read it.

Keys: ``epsilon`` spent at ``delta`` (the guarantee: (epsilon, delta)-differential privacy of
each training example), the ``target`` epsilon, the ``noise`` multiplier, ``max_grad_norm``
(the per-sample clipping norm), ``epochs``, ``sample_rate`` (Poisson sampling: each example
joins each step's batch with this probability), ``accountant`` ("prv": Opacus' privacy
random variable accountant), and also ``steps``, ``expected_batch_size``, ``samples`` (the
training examples) and ``version`` (1).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

PRIVACY_FILE = "privacy.json"
#: what each accountant is called in sentences
ACCOUNTANTS = {"prv": "PRV accountant (privacy random variables, Opacus)",
               "rdp": "RDP accountant (Renyi differential privacy, Opacus)"}
#: what the guarantee covers, in one sentence (the model card and docs/privacy.md)
COVERS = ("The guarantee is example-level differential privacy of the training set: the "
          "trained weights, and anything computed from them, reveal little about whether "
          "any one training example was used. It does not cover the validation or test data, "
          "the training curves and metrics logged during the run, or choices made by looking "
          "at the data (hyperparameters, architecture, preprocessing such as normalisation "
          "statistics).")


def read_privacy(run_dir: str | Path) -> dict[str, Any] | None:
    """``RUN/privacy.json`` of a private run as a dict (keys above), or None when the run
    was not private, has not finished, or the file is damaged."""
    path = Path(run_dir) / PRIVACY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    eps = data.get("epsilon")
    return data if isinstance(eps, int | float) and math.isfinite(eps) else None


def describe(record: dict[str, Any]) -> str:
    """One line: "epsilon 2.996 at delta 0.00042 (target 3)"."""
    return (f"epsilon {record['epsilon']:.3f} at delta {record['delta']:.2g} "
            f"(target {record['target']:g})")
