"""Data sets for LayerForge: sources, splits, normalisation, batching and augmentation.

Entry points: :func:`load_dataset` turns a :class:`~engine.project.DatasetSpec` into a
:class:`DataBundle`; :func:`iter_batches` yields ``(x, y)`` batches of a split, by index for
in-memory splits and through DataLoader workers for streaming ones; :func:`parse_spec`
reads CLI strings such as ``builtin:spirals`` or ``csv:data.csv:target=price``. Every
problem with the data raises :class:`DataError` with a message for the user; what a data
file may make LayerForge allocate (classes, decompression, file sizes) is bounded by
:mod:`engine.data.limits`.
"""

from engine.data.augment import Augment
from engine.data.builtin import BUILTIN
from engine.data.core import (
    DataBundle,
    DataError,
    Split,
    StreamingSplit,
    batch_generator,
    iter_batches,
    num_batches,
    split_indices,
)
from engine.data.download import DOWNLOADABLE, DOWNLOADS, MIRROR_ENV, Remote, cache_root
from engine.data.loader import DEFAULT_STREAM_THRESHOLD, load_dataset, parse_spec

__all__ = [
    "BUILTIN",
    "DEFAULT_STREAM_THRESHOLD",
    "DOWNLOADABLE",
    "DOWNLOADS",
    "MIRROR_ENV",
    "Augment",
    "DataBundle",
    "DataError",
    "Remote",
    "Split",
    "StreamingSplit",
    "batch_generator",
    "cache_root",
    "iter_batches",
    "load_dataset",
    "num_batches",
    "parse_spec",
    "split_indices",
]
