"""Splits, the dataset bundle and index batching.

Small data lives as tensors in a :class:`Split` and is batched by index: one permutation
per epoch from a :class:`torch.Generator`, then ``index_select`` per batch. Design measured a
per-sample DataLoader collation path at 5-7x slower, so in-memory data never goes through
one. Data too large for memory lives in a :class:`StreamingSplit`, read by DataLoader
workers; both are consumed through :func:`iter_batches` with the same arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from engine.data.facts import count_classes
from engine.errors import UserError

Batch = tuple[torch.Tensor, torch.Tensor | None]

# Mixes the epoch's augmentation seed with the batch position (golden-ratio increment), so
# batch k's augmentation does not depend on which batches were drawn before it.
_SEED_STEP = 0x9E3779B97F4A7C15
_SEED_MOD = 2**63


class DataError(UserError):
    """Data cannot be read or used. The message is for the user: it names the file, the
    entry or line, and what is wrong."""


def number_option(options: dict[str, Any], key: str, default: float, lo: float, hi: float,
                  *, whole: bool = True) -> Any:
    """``options[key]`` (``default`` when absent) as a number in [lo, hi]: an ``int`` when
    ``whole``, else a ``float``. A wrong value (text, a boolean, a fraction where a whole
    number is needed, out of range) is a :class:`DataError` naming ``dataset.options.KEY``."""
    value = options.get(key, default)
    kind = "a whole number" if whole else "a number"
    number: int | float
    try:
        if isinstance(value, bool) or value is None:
            raise TypeError
        if isinstance(value, int):
            number = value  # exact: a float would round seeds above 2**53
        else:
            number = float(value)
            if whole:
                if not number.is_integer():
                    raise ValueError
                number = int(number)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"dataset.options.{key} must be {kind}, not {value!r}") from None
    if not lo <= number <= hi:
        raise DataError(f"dataset.options.{key} must be between {_num(lo)} and {_num(hi)}, "
                        f"not {value!r}")
    return number if whole else float(number)


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


class AugmentFn(Protocol):
    """Anything that maps a batch ``x`` and a CPU generator to an augmented batch.

    An augmentation whose ``moves_targets`` is true (masks and boxes must follow their
    image) is called as ``augment.pair(x, y, generator)`` and returns ``(x, y)``."""

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor: ...


def _augmented(augment: AugmentFn, x: torch.Tensor, y: torch.Tensor | None,
               g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
    if getattr(augment, "moves_targets", False):
        return augment.pair(x, y, g)  # type: ignore[attr-defined]
    return augment(x, g), y


@dataclass
class Split:
    """One in-memory split: inputs ``x`` (samples along dim 0) and targets ``y`` (or None)."""

    x: torch.Tensor
    y: torch.Tensor | None = None

    streaming = False

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def device(self) -> torch.device:
        """Where the tensors live."""
        return self.x.device

    def to(self, device: torch.device | str) -> Split:
        """The split with both tensors on ``device``: moved once, so batches need no copy.
        Returns ``self`` when it is already there."""
        dev = torch.device(device)
        if self.x.device == dev and (self.y is None or self.y.device == dev):
            return self
        return Split(self.x.to(dev), None if self.y is None else self.y.to(dev))

    def subset(self, index: torch.Tensor) -> Split:
        """The samples at ``index`` (a 1-D long tensor), copied."""
        index = index.to(self.x.device)
        y = None if self.y is None else self.y.index_select(0, index)
        return Split(self.x.index_select(0, index), y)


class StreamingSplit:
    """A split read from storage batch by batch, by DataLoader worker processes.

    ``dataset[i]`` returns ``(raw_x, y)`` for sample ``i``; ``prepare`` turns a collated raw
    batch (already on the target device) into model input, e.g. uint8 pixels into
    normalised floats. ``y`` holds every target, for counting classes without reading
    the samples. The split stays on the host: :meth:`to` returns ``self`` and
    :func:`iter_batches` moves each batch to the requested device.
    """

    streaming = True

    def __init__(
        self,
        dataset: torch.utils.data.Dataset[Any],
        y: torch.Tensor | None,
        *,
        prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
        num_workers: int = 2,
    ) -> None:
        self.dataset = dataset
        self.y = y
        self.prepare = prepare
        self.num_workers = num_workers

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def to(self, device: torch.device | str) -> StreamingSplit:
        """Streaming splits stay on the host; batches move one at a time."""
        return self


AnySplit = Split | StreamingSplit


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """How many batches one epoch of ``n`` samples yields."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    return n // batch_size if drop_last else -(-n // batch_size)


def batch_generator(seed: int, position: int) -> torch.Generator:
    """The CPU generator used for the augmentation of batch ``position`` of an epoch."""
    g = torch.Generator()
    g.manual_seed((seed + position * _SEED_STEP) % _SEED_MOD)
    return g


def iter_batches(
    split: AnySplit,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None = None,
    start: int = 0,
    device: torch.device | str | None = None,
    augment: AugmentFn | None = None,
    drop_last: bool = False,
) -> Iterator[Batch]:
    """Yield ``(x, y)`` batches for one epoch of ``split``.

    With ``shuffle`` the order is ``torch.randperm(len(split), generator=generator)``;
    without it, the stored order (batches are then views, no copy). ``start`` skips to that
    batch position of the epoch. The generator is advanced here, before the first batch,
    by a fixed amount (the permutation, plus one seed draw when ``augment`` is given), and
    batch ``k``'s content depends only on the generator's state at this call and ``k``.
    So a killed run resumes exactly by restoring the generator to its state at the start
    of the epoch and passing ``start=k``.

    ``device`` moves each batch there (a no-op when the split already lives there, see
    :meth:`Split.to`). ``augment`` is called as ``augment(x, g)`` on the batch after the
    move, with a CPU generator ``g`` seeded for that batch position.
    """
    n = len(split)
    total = num_batches(n, batch_size, drop_last)
    if not 0 <= start <= total:
        raise ValueError(f"start must be between 0 and {total} (batches per epoch), not {start}")
    order = torch.randperm(n, generator=generator) if shuffle else None
    aug_seed = 0
    if augment is not None:
        aug_seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    dev = None if device is None else torch.device(device)
    if isinstance(split, StreamingSplit):
        return _stream(split, order, batch_size, start, total, dev, augment, aug_seed)
    return _memory(split, order, batch_size, start, total, dev, augment, aug_seed)


def _memory(
    split: Split,
    order: torch.Tensor | None,
    bs: int,
    start: int,
    total: int,
    dev: torch.device | None,
    augment: AugmentFn | None,
    aug_seed: int,
) -> Iterator[Batch]:
    x, y = split.x, split.y
    n = len(split)
    if order is not None and order.device != x.device:
        order = order.to(x.device)
    # every batch's indices as views, cut in one call (slicing a tensor per batch costs a
    # few microseconds, which shows on a small model)
    chunks = None if order is None else order.split(bs)
    for b in range(start, total):
        if chunks is None:
            lo, hi = b * bs, min(n, (b + 1) * bs)
            xb = x[lo:hi]
            yb = None if y is None else y[lo:hi]
        else:
            idx = chunks[b]
            xb = x.index_select(0, idx)
            yb = None if y is None else y.index_select(0, idx)
        if dev is not None and xb.device != dev:
            xb = xb.to(dev, non_blocking=True)
            yb = None if yb is None else yb.to(dev, non_blocking=True)
        if augment is not None:
            xb, yb = _augmented(augment, xb, yb, batch_generator(aug_seed, b))
        yield xb, yb


def _stream(
    split: StreamingSplit,
    order: torch.Tensor | None,
    bs: int,
    start: int,
    total: int,
    dev: torch.device | None,
    augment: AugmentFn | None,
    aug_seed: int,
) -> Iterator[Batch]:
    n = len(split)
    idx = order if order is not None else torch.arange(n)
    batches = [idx[b * bs : min(n, (b + 1) * bs)].tolist() for b in range(start, total)]
    if not batches:
        return
    pin = dev is not None and dev.type == "cuda"
    workers = max(0, min(split.num_workers, len(batches)))
    loader = torch.utils.data.DataLoader(
        split.dataset,
        batch_sampler=batches,
        num_workers=workers,
        pin_memory=pin,
    )
    it = iter(loader)
    try:
        for b, (xb, yb) in enumerate(it, start=start):
            if dev is not None:
                xb = xb.to(dev, non_blocking=True)
                yb = yb.to(dev, non_blocking=True)
            if split.prepare is not None:
                xb = split.prepare(xb)
            if augment is not None:
                xb, yb = _augmented(augment, xb, yb, batch_generator(aug_seed, b))
            yield xb, yb
    finally:
        # Stop the workers now when the consumer stops early or a worker failed; otherwise
        # a traceback that keeps the iterator alive keeps them running until exit.
        shutdown = getattr(it, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()


def split_indices(
    n: int, val_fraction: float, test_fraction: float, seed: int, what: str = "the data"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Deterministic disjoint train/val/test index tensors (each sorted) for ``n`` samples.

    A non-zero fraction gets at least one sample. Raises :class:`DataError` when nothing
    is left for training.
    """
    n_val = _part(n, val_fraction)
    n_test = _part(n, test_fraction)
    if n - n_val - n_test < 1:
        raise DataError(
            f"{what}: {n} samples are too few for a validation fraction of {val_fraction:g} "
            f"and a test fraction of {test_fraction:g}; nothing would be left for training"
        )
    g = torch.Generator()
    g.manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    val = perm[:n_val].sort().values
    test = perm[n_val : n_val + n_test].sort().values
    train = perm[n_val + n_test :].sort().values
    return train, val, test


def _part(n: int, fraction: float) -> int:
    if fraction <= 0 or n == 0:
        return 0
    return max(1, int(round(n * fraction)))


@dataclass
class DataBundle:
    """Everything a task needs to know about a loaded dataset.

    ``kind``: "vector", "image", "sequence", "tokens" or "audio" (waveforms [1, samples]);
    ``input_shape`` is per sample; ``target``: "class", "real", "next_token", "mask",
    "boxes", "sequence" (seq2seq: target token ids [N, target_len], padded with 0) or
    "transcript" (speech: character ids [N, U] into ``target_vocab``, padded with -1). ``mean``/``std``
    were computed on the train split only (per channel for images, per feature for vectors)
    and already applied to every split's inputs (targets are never normalised); None when
    not normalised. ``augment`` is meant for the train split only (pass it to
    :func:`iter_batches`).
    """

    train: AnySplit
    val: AnySplit
    test: AnySplit | None
    kind: str
    input_shape: tuple[int, ...]
    input_dtype: str
    target: str
    classes: list[str] | None = None
    vocab: list[str] | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    source: str = ""
    target_shape: tuple[int, ...] = ()
    augment: AugmentFn | None = None
    #: segmentation and detection: the import summary (images, classes, boxes or pixels
    #: per class, skipped bad annotations...), see ``engine.data.annotations.summary``;
    #: texts, pairs, audio and speech: theirs (rows, label counts, lengths, skipped entries)
    summary: dict[str, Any] | None = None
    #: texts and pairs: the tokenizer of the inputs (``engine.data.texts.TextTokenizer``),
    #: trained on the training split or given back from a run; pairs: the target side's
    #: (the same object when ``dataset.shared_vocab``)
    tokenizer: Any = None
    target_tokenizer: Any = None
    #: pairs and speech: the target side's tokens in id order (``vocab`` is the input's)
    target_vocab: list[str] | None = None
    #: texts, pairs and speech: the original text of each sample per split ("train", "val",
    #: "test"), in split order, for showing; pairs and speech: the targets' in target_texts
    texts: dict[str, list[str]] | None = None
    target_texts: dict[str, list[str]] | None = None
    #: audio and speech: the clips' sample rate (Hz)
    sample_rate: int | None = None
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def num_classes(self) -> int:
        """Output classes: the class count, the vocabulary size for tokens, else 0."""
        return count_classes(self.classes, self.target, self.target_vocab or self.vocab)

    def encode(self, text: str) -> torch.Tensor:
        """Character ids (long) of ``text`` for a text bundle."""
        if not self.vocab:
            raise DataError(f"{self.source}: this dataset has no character vocabulary")
        if not self._index:
            self._index.update({ch: i for i, ch in enumerate(self.vocab)})
        unknown = sorted({ch for ch in text if ch not in self._index})
        if unknown:
            shown = ", ".join(repr(ch) for ch in unknown[:10])
            raise DataError(f"{self.source}: these characters are not in the vocabulary: {shown}")
        return torch.tensor([self._index[ch] for ch in text], dtype=torch.long)

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        """The text for character ids, the inverse of :meth:`encode`."""
        if not self.vocab:
            raise DataError(f"{self.source}: this dataset has no character vocabulary")
        seq = ids.reshape(-1).tolist() if isinstance(ids, torch.Tensor) else list(ids)
        return "".join(self.vocab[int(i)] for i in seq)

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Undo the normalisation of a batch ``x`` (for showing images and values)."""
        if self.mean is None or self.std is None:
            return x
        shape = (-1, 1, 1) if self.kind == "image" else (-1,)
        if len(self.mean) == 1:
            shape = (1,)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).reshape(shape)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).reshape(shape)
        return x * std + mean

    def to(self, device: torch.device | str) -> DataBundle:
        """Move every in-memory split to ``device`` once (streaming splits stay put)."""
        self.train = self.train.to(device)
        self.val = self.val.to(device)
        if self.test is not None:
            self.test = self.test.to(device)
        return self

    def describe(self) -> str:
        """One line for the user: source, sizes, shape and classes."""
        sizes = f"{len(self.train)} train / {len(self.val)} val"
        if self.test is not None:
            sizes += f" / {len(self.test)} test"
        shape = "x".join(str(d) for d in self.input_shape)
        what = f"{self.num_classes} classes" if self.classes else self.target
        if self.target == "next_token":
            what = f"{len(self.vocab or [])} characters"
        elif self.kind == "tokens" and self.vocab:
            what += f", {len(self.vocab)} tokens"
            if self.target_vocab is not None and self.target_vocab is not self.vocab:
                what += f" in, {len(self.target_vocab)} out"
        elif self.sample_rate:
            what += f", {self.sample_rate} Hz"
        elif self.target in ("mask", "boxes"):
            what += " (masks)" if self.target == "mask" else " (boxes)"
        skipped = int((self.summary or {}).get("skipped") or 0)
        if skipped:
            entry = "annotation" if self.target in ("mask", "boxes") else "entr"
            plural = ("ies" if entry == "entr" else "s") if skipped != 1 else (
                "y" if entry == "entr" else "")
            what += f", {skipped} bad {entry}{plural} skipped"
        return f"{self.source}: {sizes}, {shape} {self.kind}, {what}"
