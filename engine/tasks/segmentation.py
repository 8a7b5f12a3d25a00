"""Semantic segmentation: a class per pixel. (Being built: see the contract.)"""

from __future__ import annotations

from typing import ClassVar

from engine.tasks.base import Task


class SegmentationTask(Task):
    kind: ClassVar[str] = "segmentation"
