"""Data sets for LayerForge: sources, splits, normalisation, batching and augmentation.

Entry points: :func:`load_dataset` turns a :class:`~engine.project.DatasetSpec` into a
:class:`DataBundle`; :func:`iter_batches` yields ``(x, y)`` batches of a split, by index for
in-memory splits and through DataLoader workers for streaming ones; :func:`parse_spec`
reads CLI strings such as ``builtin:spirals`` or ``csv:data.csv:target=price``. Every
problem with the data raises :class:`DataError` with a message for the user; what a data
file may make LayerForge allocate (classes, decompression, file sizes) is bounded by
:mod:`engine.data.limits`. :mod:`engine.data.facts` says what a data set gives (shapes,
classes) without torch for the built-in sets.

The names below load on first use (PEP 562), so importing a light submodule such as
``engine.data.facts`` (the editor's data-fit check) does not pull in torch.
"""

from __future__ import annotations

from engine.lazy import lazy_getattr

_EXPORTS = {
    "Augment": "engine.data.augment",
    "PairAugment": "engine.data.augment",
    "BUILTIN": "engine.data.builtin",
    "DataBundle": "engine.data.core",
    "DataError": "engine.data.core",
    "Split": "engine.data.core",
    "StreamingSplit": "engine.data.core",
    "batch_generator": "engine.data.core",
    "iter_batches": "engine.data.core",
    "num_batches": "engine.data.core",
    "split_indices": "engine.data.core",
    "DOWNLOADABLE": "engine.data.download",
    "DOWNLOADS": "engine.data.download",
    "MIRROR_ENV": "engine.data.download",
    "Remote": "engine.data.download",
    "cache_root": "engine.data.download",
    "DEFAULT_STREAM_THRESHOLD": "engine.data.loader",
    "load_dataset": "engine.data.loader",
    "parse_spec": "engine.data.loader",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
