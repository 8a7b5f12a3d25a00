"""Limits on what a data file may make LayerForge allocate.

Data files are untrusted: a 400-byte labels file can claim two billion classes, a 200 KB
``.gz`` can unpack to gigabytes. Every reader checks these limits before it allocates, from
what a header or the file system declares, and refuses with a sentence naming the file.
"""

from __future__ import annotations

from engine.memory import format_bytes, physical_memory

#: The most classes a data set may have. The per-class metrics grow with the square of the
#: class count (a confusion matrix of classes x classes: 800 MB of float64 at 10,000), and a
#: classifier head grows with it too; 10,000 covers ImageNet-1k and iNaturalist's species.
MAX_CLASSES = 10_000

#: The largest CSV file read. The reader holds the text and the parsed values at once, so a
#: file takes about three times its size in memory while it is read.
MAX_CSV_BYTES = 512 * 1024**2

#: How far a compressed file may expand: a ``.gz`` (or archive) may unpack to at most
#: ``MAX_EXPANSION`` times its own size, once it is over ``EXPANSION_FLOOR``. Real image data
#: compresses 1-10x (MNIST 4.8x, CIFAR 1.1x); only crafted or damaged files reach 100x.
MAX_EXPANSION = 100
EXPANSION_FLOOR = 64 * 1024**2

#: An unpacked download archive: at most this many bytes and members.
MAX_UNPACKED_BYTES = 4 * 1024**3
MAX_ARCHIVE_MEMBERS = 10_000

#: CIFAR-10 binary batch files hold 10,000 records each; more than this is not a CIFAR batch.
MAX_CIFAR_RECORDS = 100_000

#: A download larger than this is cut off (the largest set, CIFAR-10, is 163 MB).
MAX_DOWNLOAD_BYTES = 1024**3

__all__ = [
    "EXPANSION_FLOOR",
    "MAX_ARCHIVE_MEMBERS",
    "MAX_CIFAR_RECORDS",
    "MAX_CLASSES",
    "MAX_CSV_BYTES",
    "MAX_DOWNLOAD_BYTES",
    "MAX_EXPANSION",
    "MAX_UNPACKED_BYTES",
    "expansion_limit",
    "format_bytes",
    "physical_memory",
]


def expansion_limit(compressed: int) -> int:
    """The most bytes a compressed file of ``compressed`` bytes may unpack to."""
    return max(EXPANSION_FLOOR, MAX_EXPANSION * compressed)
