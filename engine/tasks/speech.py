"""Speech to text with CTC (filled in by the speech work of issue 23)."""

from __future__ import annotations

from typing import ClassVar

from engine.tasks.base import Task


class SpeechTask(Task):
    kind: ClassVar[str] = "speech"
