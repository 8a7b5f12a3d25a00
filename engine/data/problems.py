"""Bad entries met while reading a data set, for every reader (images and annotations,
texts, sound clips).

Readers never raise on a bad entry themselves: they report it to :class:`Problems`, which
stops with a :class:`~engine.data.core.DataError` naming the file and the entry
(``dataset.bad_entries = "stop"``) or leaves the entry out and counts it (``"skip"``). So
both modes go through one path and one message, and the summary's ``skipped`` and
``problems`` mean the same for every kind of data.

This module imports no torch (the text and sound readers' torch-free side uses it), so
``DataError``, which lives beside torch in ``engine.data.core``, is imported only when one
is raised.
"""

from __future__ import annotations

from pathlib import Path

#: how many problems a summary lists (the count covers them all)
SHOWN_PROBLEMS = 50
#: the name the dataset panel gives ``dataset.bad_entries``, used in the way out
BAD_ENTRIES = "Bad entries"


def stop_hint(setting: str = BAD_ENTRIES) -> str:
    """The way out a "stop" error ends with: fix the entry or skip such entries."""
    return (f"fix it, or set {setting} (dataset.bad_entries) to Skip to leave such "
            "entries out")


class Problems:
    """Bad entries met while reading: raised at once (``mode="stop"``) or counted.

    ``setting`` is what the dataset panel calls ``dataset.bad_entries`` for this kind of
    data (the vision form says "Bad annotations"); ``keep`` is how many sentences are kept
    for the summary."""

    def __init__(self, mode: str, *, setting: str = BAD_ENTRIES,
                 keep: int = SHOWN_PROBLEMS) -> None:
        self.mode = mode
        self.setting = setting
        self.keep = keep
        self.skipped = 0
        self.shown: list[str] = []

    def add(self, file: str | Path, entry: str, what: str, count: int = 1) -> None:
        """Report a bad entry: ``file`` holds it, ``entry`` says which one (``"line 3"``,
        ``"object 2 ('dog')"``; "" when the file is the entry), ``what`` is a sentence on
        what is wrong; ``count`` entries are left out by it."""
        text = f"{file}: {entry}: {what}" if entry else f"{file}: {what}"
        if self.mode == "stop":
            from engine.data.core import DataError

            raise DataError(f"{text}; {stop_hint(self.setting)}")
        self.skipped += count
        if len(self.shown) < self.keep:
            self.shown.append(text)
