"""``load_dataset``: source -> splits -> normalisation -> :class:`DataBundle`; and ``parse_spec``.

Options read from ``spec.options`` here (beyond each source's own):
``stream_threshold`` (bytes; an image folder whose decoded float32 size exceeds it streams
from disk, default 2 GiB), ``workers`` (DataLoader workers for streaming, default up to 4),
``stats_samples`` (train images sampled for a streaming set's mean/std, default 1000),
``mirror`` (download mirror base URL), ``timeout`` (seconds per download request), ``stride`` (text windows), ``seed`` (built-ins).

Segmentation and detection files are read by :mod:`engine.data.annotations` (in memory
only; ``stream_threshold`` bounds them) and split and normalised here like other images.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from engine.data import builtin, download, folder, idx, tabular, text
from engine.data.augment import Augment, PairAugment
from engine.data.core import (
    DataBundle,
    DataError,
    Split,
    StreamingSplit,
    number_option,
    split_indices,
)
from engine.data.facts import CIFAR_CLASSES, FASHION_CLASSES, model_channels
from engine.data.raw import Raw
from engine.project import DatasetSpec

DEFAULT_STREAM_THRESHOLD = 2 * 1024**3
SOURCES = ("builtin", "folder", "idx", "csv", "text", "download", "segmentation", "detection",
           "texts", "pairs", "audio", "speech")
_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist", "cifar-10": "cifar10"}
Progress = Callable[[str, int, int], None]


def load_dataset(
    spec: DatasetSpec, *, cache_dir: Path | None = None, progress: Progress | None = None,
    tokenizers: dict[str, str] | None = None,
) -> DataBundle:
    """Load, split and normalise the data set ``spec`` describes; deterministic for a spec.

    Splits come from ``split_seed`` with ``val_fraction``/``test_fraction``; sources with
    their own test set (IDX t10k files, downloads) keep it as the test split and ignore
    ``test_fraction``. Text is split by position (see :mod:`engine.data.text`). With
    ``dataset.mean``/``std`` set (a pretrained backbone's normalisation) inputs are normalised
    with them instead of the training split's statistics, and greyscale images going into a
    three-value normalisation get their one channel repeated (an RGB backbone). Raises
    :class:`DataError` with a sentence for the user when the data cannot be used.

    Texts and pairs train their tokenizer on the training split, unless ``tokenizers``
    gives it back (a run's data.json: ``{"tokenizer": JSON, "target_tokenizer": JSON}``),
    so a run is evaluated and resumed with the ids it trained on.
    """
    from engine.data.facts import AUDIO_BUILTINS, TEXT_BUILTINS

    builtin_name = spec.name if spec.source == "builtin" else ""
    if spec.source in ("texts", "pairs") or builtin_name in TEXT_BUILTINS:
        from engine.data.texts import load_text_data

        return load_text_data(spec, progress=progress, tokenizers=tokenizers)
    if spec.source in ("audio", "speech") or builtin_name in AUDIO_BUILTINS:
        from engine.data.audio import load_audio_data

        return load_audio_data(spec, progress=progress, cache_dir=cache_dir)
    if spec.source == "folder":
        return _folder_bundle(spec, progress)
    if spec.source in ("segmentation", "detection"):
        from engine.data.annotations import load_vision

        return load_vision(spec, progress)
    if spec.source == "builtin":
        raw = builtin.generate(spec)
    elif spec.source == "idx":
        raw = idx.read_idx_folder(_path(spec), f"idx:{spec.path}")
    elif spec.source == "csv":
        raw = tabular.read_csv(_path(spec), spec)
    elif spec.source == "text":
        path = _path(spec)
        raw = Raw("tokens", None, None, "next_token", f"text:{spec.path}", text=text.read_text(path))
    elif spec.source == "download":
        raw = _download_raw(spec, cache_dir, progress)
    else:
        raise DataError(f"unknown data source '{spec.source}'; use one of {', '.join(SOURCES)}")
    if raw.kind == "tokens":
        return _text_bundle(raw, spec)
    bundle = _bundle(raw, spec)
    if raw.target in ("mask", "boxes") and raw.y is not None:
        from engine.data.annotations.summary import summarize_targets

        bundle.summary = summarize_targets(raw.y, raw.target, raw.classes)
    return bundle


def _path(spec: DatasetSpec) -> Path:
    if not spec.path.strip():
        raise DataError(f"{spec.source}: no path is set; choose a file or folder")
    return Path(spec.path).expanduser()


def _threshold(spec: DatasetSpec) -> int:
    return int(number_option(spec.options, "stream_threshold", DEFAULT_STREAM_THRESHOLD, 0, 2**62))


def _augment(spec: DatasetSpec, target: str = "class") -> Augment | None:
    """The spec's augmentation; masks and boxes move with their images (PairAugment)."""
    flip, crop, rotate = spec.augment_flip, spec.augment_crop, spec.augment_rotate
    if target in ("mask", "boxes"):
        aug: Augment = PairAugment(flip, crop, rotate, target)
    else:
        aug = Augment(flip, crop, rotate)
    return aug if aug.active else None


def _unit_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


def _prepare_images(x: torch.Tensor, spec: DatasetSpec) -> torch.Tensor:
    """Greyscale and resize image tensors of sources that do not do it while reading."""
    size = spec.image_size
    resize = size is not None and tuple(x.shape[2:]) != (size, size)
    grey = spec.grayscale and x.shape[1] == 3
    if not (resize or grey):
        return x
    x = _unit_float(x)
    if grey:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        x = (x * weights).sum(dim=1, keepdim=True)
    if resize:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp_(0.0, 1.0)


def fixed_normalisation(spec: DatasetSpec) -> tuple[list[float], list[float]] | None:
    """``dataset.mean``/``dataset.std`` (a pretrained backbone's normalisation), checked;
    None when they are not set (the training split's statistics are used instead)."""
    if spec.mean is None and spec.std is None:
        return None
    mean, std = spec.mean, spec.std
    if mean is None or std is None or len(mean) != len(std) or not mean:
        raise DataError("dataset.mean and dataset.std must be set together, with one value per "
                        "channel each (or both removed, to normalise with the training data's "
                        "statistics)")
    if not all(math.isfinite(v) for v in (*mean, *std)) or any(v <= 0 for v in std):
        raise DataError(f"dataset.std must hold positive numbers and dataset.mean finite ones, "
                        f"not mean {mean}, std {std}")
    return list(mean), list(std)


def _model_images(x: torch.Tensor, spec: DatasetSpec) -> torch.Tensor:
    """Greyscale images going into an RGB backbone (fixed normalisation with three
    values): the one channel repeated three times."""
    if x.shape[1] == 1 and model_channels(spec, 1) == 3:
        return x.repeat(1, 3, 1, 1)
    return x


def _check_width(mean: list[float], width: int, kind: str, source: str) -> None:
    if len(mean) != width:
        what = f"the images have {width} channels" if kind == "image" else (
            f"the samples have {width} features")
        raise DataError(f"{source}: dataset.mean and dataset.std have {len(mean)} values (a fixed "
                        f"normalisation, e.g. a pretrained backbone's) but {what}; give one value "
                        "per channel, or remove them to normalise with the training data's "
                        "statistics")


def _stats(x: torch.Tensor, kind: str) -> tuple[list[float], list[float]]:
    """Mean and std per channel (images) or per feature (vectors, sequences), in float64."""
    feat = 1 if kind == "image" else x.dim() - 1
    total = torch.zeros(x.shape[feat], dtype=torch.float64)
    total_sq = torch.zeros_like(total)
    count = 0
    for chunk in x.split(4096):
        c = chunk.double().movedim(feat, -1).reshape(-1, x.shape[feat])
        total += c.sum(0)
        total_sq += (c * c).sum(0)
        count += c.shape[0]
    mean = total / max(count, 1)
    std = (total_sq / max(count, 1) - mean * mean).clamp_min(0).sqrt()
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    return mean.tolist(), std.tolist()


def _apply(x: torch.Tensor, mean: list[float], std: list[float], kind: str) -> torch.Tensor:
    shape = (1, -1, 1, 1) if kind == "image" else (-1,)
    m = torch.tensor(mean, dtype=x.dtype).view(shape)
    s = torch.tensor(std, dtype=x.dtype).view(shape)
    return x.sub_(m).div_(s)


def _bundle(raw: Raw, spec: DatasetSpec) -> DataBundle:
    assert raw.x is not None
    x, y = raw.x, raw.y
    test_xy = raw.test
    if raw.kind == "image":
        x = _model_images(_prepare_images(x, spec), spec)
        if test_xy is not None:
            test_xy = (_model_images(_prepare_images(test_xy[0], spec), spec), test_xy[1])
    test_fraction = 0.0 if test_xy is not None else spec.test_fraction
    tr, va, te = split_indices(len(x), spec.val_fraction, test_fraction, spec.split_seed, raw.source)

    def take(index: torch.Tensor) -> Split:
        return Split(_unit_float(x.index_select(0, index)), None if y is None else y.index_select(0, index))

    train, val = take(tr), take(va)
    test = take(te) if test_fraction > 0 else None
    if test_xy is not None:
        test = Split(_unit_float(test_xy[0]), test_xy[1])
    mean = std = None
    fixed = fixed_normalisation(spec)
    if fixed is not None:
        mean, std = fixed
        _check_width(mean, int(train.x.shape[1 if raw.kind == "image" else -1]), raw.kind,
                     raw.source)
    elif spec.normalize:
        mean, std = _stats(train.x, raw.kind)
    if mean is not None and std is not None:
        for s in (train, val, test):
            if s is not None:
                _apply(s.x, mean, std, raw.kind)
    return DataBundle(
        train=train,
        val=val,
        test=test,
        kind=raw.kind,
        input_shape=tuple(train.x.shape[1:]),
        input_dtype="float",
        target=raw.target,
        classes=raw.classes,
        mean=mean,
        std=std,
        source=raw.source,
        target_shape=raw.target_shape,
        augment=_augment(spec, raw.target) if raw.kind == "image" else None,
    )


def _text_bundle(raw: Raw, spec: DatasetSpec) -> DataBundle:
    assert raw.text is not None
    if spec.mean is not None or spec.std is not None:
        raise DataError(f"{raw.source}: dataset.mean and dataset.std normalise images and numbers, "
                        "not text; remove them")
    train, val, test, vocab = text.corpus_splits(
        raw.text,
        source=raw.source,
        seq_len=spec.seq_len,
        val_fraction=spec.val_fraction,
        test_fraction=spec.test_fraction,
        stride=None if spec.options.get("stride") is None
        else int(number_option(spec.options, "stride", 1, 1, 2**31)),
        memory_limit=_threshold(spec),
    )
    return DataBundle(
        train=train,
        val=val,
        test=test,
        kind="tokens",
        input_shape=(spec.seq_len,),
        input_dtype="long",
        target="next_token",
        vocab=vocab,
        source=raw.source,
        target_shape=(spec.seq_len,),
    )


def _folder_bundle(spec: DatasetSpec, progress: Progress | None) -> DataBundle:
    root = _path(spec)
    source = f"folder:{spec.path}"
    scan = folder.scan_folder(root, spec.image_size, spec.grayscale, progress)
    if scan.decoded_bytes <= _threshold(spec):
        x = folder.decode_all(scan, progress)
        raw = Raw("image", x, torch.from_numpy(scan.labels), "class", source, classes=scan.classes)
        return _bundle(raw, spec)
    tr, va, te = split_indices(
        len(scan.files), spec.val_fraction, spec.test_fraction, spec.split_seed, str(root)
    )
    channels = model_channels(spec, scan.channels)
    mean = std = None
    fixed = fixed_normalisation(spec)
    if fixed is not None:
        mean, std = fixed
        _check_width(mean, channels, "image", source)
    elif spec.normalize:
        limit = int(number_option(spec.options, "stats_samples", 1000, 1, 10_000_000))
        mean, std = folder.sample_stats(scan, tr.numpy(), limit, spec.split_seed)
    prepare = folder.Normalize(mean, std, channels)
    workers = int(number_option(spec.options, "workers", min(4, max(1, _cpus() - 1)), 0, 256))

    def stream(index: torch.Tensor) -> StreamingSplit:
        pick = index.numpy()
        files = [scan.files[i] for i in pick]
        labels = scan.labels[pick]
        dataset = folder.ImageFileDataset(files, labels, scan.channels, scan.height, scan.width)
        return StreamingSplit(dataset, torch.from_numpy(labels), prepare=prepare, num_workers=workers)

    return DataBundle(
        train=stream(tr),
        val=stream(va),
        test=stream(te) if spec.test_fraction > 0 else None,
        kind="image",
        input_shape=(channels, scan.height, scan.width),
        input_dtype="float",
        target="class",
        classes=scan.classes,
        mean=mean,
        std=std,
        source=source,
        augment=_augment(spec),
    )


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _download_raw(spec: DatasetSpec, cache_dir: Path | None, progress: Progress | None) -> Raw:
    name = _ALIASES.get(spec.name.strip().lower(), spec.name.strip().lower())
    where = download.fetch_set(
        name,
        cache_dir,
        mirror=spec.options.get("mirror"),
        progress=progress,
        timeout=number_option(spec.options, "timeout", 30.0, 0.1, 3600.0, whole=False),
    )
    source = f"download:{name}"
    if name in ("mnist", "fashion-mnist"):
        classes = FASHION_CLASSES if name == "fashion-mnist" else [str(d) for d in range(10)]
        return idx.read_idx_folder(where, source, classes)
    root = download.extract_tar(where / "cifar-10-binary.tar.gz", where, "cifar-10-batches-bin")
    train_files = sorted(root.glob("data_batch_*.bin"))
    if not train_files:
        raise DataError(f"{root}: no data_batch_*.bin files in the unpacked archive")
    x, y = idx.read_cifar_batches(train_files)
    test_file = root / "test_batch.bin"
    test = idx.read_cifar_batches([test_file]) if test_file.is_file() else None
    return Raw("image", x, y, "class", source, classes=list(CIFAR_CLASSES), test=test)


def parse_spec(spec_text: str) -> DatasetSpec:
    """A :class:`DatasetSpec` from a CLI string: ``builtin:NAME``, ``folder:PATH``,
    ``idx:DIR``, ``csv:PATH[:target=COLUMN]``, ``text:PATH``, ``download:NAME``,
    ``segmentation:PATH`` or ``detection:PATH`` (an images folder; the annotations are
    found from its layout), ``texts:PATH``, ``pairs:PATH``, ``audio:DIR`` or ``speech:DIR``
    (columns and transcripts are found; ``--set`` names them otherwise)."""
    s = spec_text.strip()
    source, sep, rest = s.partition(":")
    examples = "builtin:spirals, folder:~/photos, csv:data.csv:target=label, download:mnist"
    if not sep:
        hint = ""
        if s in builtin.BUILTIN:
            hint = f" (did you mean builtin:{s}?)"
        elif s in download.DOWNLOADS:
            hint = f" (did you mean download:{s}?)"
        raise DataError(
            f"'{spec_text}' is not a data set spec{hint}; write SOURCE:NAME or SOURCE:PATH, "
            f"for example {examples}"
        )
    source = source.strip().lower()
    rest = rest.strip()
    if source not in SOURCES:
        raise DataError(
            f"'{spec_text}': unknown source '{source}'; use one of {', '.join(SOURCES)} "
            f"(for example {examples})"
        )
    if not rest:
        what = "a name" if source in ("builtin", "download") else "a path"
        raise DataError(f"'{spec_text}': {source} needs {what} after the colon, as in {examples}")
    if source == "builtin":
        if rest not in builtin.BUILTIN:
            names = ", ".join(builtin.BUILTIN)
            raise DataError(f"'{spec_text}': there is no built-in data set '{rest}'; choose one of {names}")
        return DatasetSpec(source="builtin", name=rest)
    if source == "download":
        name = _ALIASES.get(rest.lower(), rest.lower())
        if name not in download.DOWNLOADS:
            names = ", ".join(download.DOWNLOADS)
            raise DataError(f"'{spec_text}': '{rest}' cannot be downloaded; choose one of {names}")
        return DatasetSpec(source="download", name=name)
    target = ""
    if source == "csv" and ":target=" in rest:
        rest, _, target = rest.rpartition(":target=")
        if not rest or not target:
            raise DataError(f"'{spec_text}': write csv:PATH:target=COLUMN with both parts filled in")
    return DatasetSpec(source=source, path=rest, target=target)
