"""Sequence to sequence (filled in by the seq2seq work of issue 23)."""

from __future__ import annotations

from typing import ClassVar

from engine.tasks.base import Task


class Seq2SeqTask(Task):
    kind: ClassVar[str] = "seq2seq"
    graphs: ClassVar[tuple[str, ...]] = ("encoder", "decoder")
