"""Training: the run loop (a generator of events), checkpoints, the run directory and the
worker process protocol. Import the pieces from their modules; the common ones are here."""

from __future__ import annotations

from engine.train.control import Control
from engine.train.events import EVENT_TYPES, TERMINAL, Event, from_dict, from_json
from engine.train.fit import check_fit, fit_project
from engine.train.loop import train
from engine.train.rundir import RunDir, record

__all__ = ["EVENT_TYPES", "TERMINAL", "Control", "Event", "RunDir", "check_fit", "fit_project",
           "from_dict", "from_json", "record", "train"]
