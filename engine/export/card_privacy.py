"""The model card's privacy section (owned by the privacy work; see engine.export.card_runs)."""

from __future__ import annotations

from engine.export.common import Source


def section(src: Source) -> list[str]:
    return []
