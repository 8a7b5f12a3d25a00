"""Object detection: boxes with classes. (Being built: see the contract.)"""

from __future__ import annotations

from typing import ClassVar

from engine.tasks.base import Task


class DetectionTask(Task):
    kind: ClassVar[str] = "detection"
