"""Sound data: sound classification (one folder of clips per class, built-in "keywords")
and speech to text (clips with transcripts, built-in "spoken_digits").

:func:`load_audio_data` gives the :class:`~engine.data.core.DataBundle`; :func:`summary`,
:func:`preview` and :func:`clip_for_view` serve the dataset panel. The functions import
their modules when called, so ``engine.data.audio.facts`` (the editor's data check) stays
light.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from engine.data.core import DataBundle
    from engine.project import DatasetSpec

Progress = Callable[[str, int, int], None]


def load_audio_data(spec: DatasetSpec, *, progress: Progress | None = None,
                    cache_dir: Path | str | None = None) -> DataBundle:
    """The bundle of ``spec`` (source "audio" or "speech", or built-in "keywords" or
    "spoken_digits"): clips float32 [N, 1, L], class ids [N] or character ids [N, U].
    Raises :class:`~engine.data.core.DataError` with a sentence for the user."""
    from engine.data.audio.load import load_bundle

    return load_bundle(spec, progress=progress, cache_dir=cache_dir)


def summary(spec: DatasetSpec) -> dict[str, Any]:
    """What the set holds, for the dataset panel (see :mod:`engine.data.audio.panel`)."""
    from engine.data.audio.panel import summary as _summary

    return _summary(spec)


def preview(spec: DatasetSpec, clips: int = 12) -> dict[str, Any]:
    """:func:`summary` plus ``"rows"``: the first ``clips`` clips, every class shown."""
    from engine.data.audio.panel import preview as _preview

    return _preview(spec, clips)


def clip_for_view(spec: DatasetSpec, index: int) -> tuple[np.ndarray, int]:
    """Clip ``index`` (a preview row's ``index``) as float32 mono samples and its rate."""
    from engine.data.audio.panel import clip_for_view as _clip

    return _clip(spec, index)


__all__ = ["clip_for_view", "load_audio_data", "preview", "summary"]
