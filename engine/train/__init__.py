"""Training: the run loop (a generator of events), checkpoints, the run directory and the
worker process protocol. Import the pieces from their modules; the common ones are here.

The names below load on first use (PEP 562), so importing a light submodule such as
``engine.train.events`` from the app does not pull in torch.
"""

from __future__ import annotations

from engine.lazy import lazy_getattr

_EXPORTS = {
    "Control": "engine.train.control",
    "EVENT_TYPES": "engine.train.events",
    "TERMINAL": "engine.train.events",
    "Event": "engine.train.events",
    "from_dict": "engine.train.events",
    "from_json": "engine.train.events",
    "check_fit": "engine.train.fit",
    "fit_project": "engine.train.fit",
    "train": "engine.train.loop",
    "RunDir": "engine.train.rundir",
    "record": "engine.train.rundir",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
