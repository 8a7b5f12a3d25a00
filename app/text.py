"""Formatting numbers and user text for display."""

from __future__ import annotations

import html


def fmt_count(n: float) -> str:
    """1234567 -> '1.23M'; small numbers stay whole."""
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:g}" if isinstance(n, float) else str(n)


def fmt_bytes(n: float) -> str:
    for unit, div in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= div:
            return f"{n / div:.3g} {unit}"
    return f"{int(n)} B"


def plain_tooltip(text: str) -> str:
    """A tooltip that shows ``text`` literally: Qt guesses rich text from a leading tag, so
    user-supplied text is escaped and wrapped (which also lets long messages wrap)."""
    return "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>"
