"""Image folders larger than the memory threshold stream from disk through DataLoader workers."""

import pytest
import torch

from engine.data import Augment, DataError, Split, StreamingSplit, iter_batches, load_dataset
from engine.project import DatasetSpec
from tests.engine.data.helpers import write_png_folder

COUNTS = {"a": 9, "b": 8, "c": 7}


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    return write_png_folder(tmp_path_factory.mktemp("pictures"), COUNTS, size=(6, 6))


def spec(path, **options) -> DatasetSpec:
    return DatasetSpec(source="folder", path=str(path), val_fraction=0.25, options=options)


def streamed(path, **options):
    return load_dataset(spec(path, stream_threshold=1000, workers=2, **options))


def test_large_folders_become_streaming_splits(pictures):
    b = streamed(pictures)
    assert isinstance(b.train, StreamingSplit) and isinstance(b.val, StreamingSplit)
    assert (len(b.train), len(b.val)) == (18, 6) and b.input_shape == (3, 6, 6)
    assert isinstance(load_dataset(spec(pictures)).train, Split)  # default threshold: memory


def test_streamed_batches_cover_the_split_once(pictures):
    b = streamed(pictures)
    g = torch.Generator().manual_seed(0)
    ys, xs = [], []
    for x, y in iter_batches(b.train, 4, shuffle=True, generator=g):
        assert x.shape[1:] == (3, 6, 6) and x.dtype == torch.float32
        xs.append(x)
        ys.append(y)
    assert [len(y) for y in ys] == [4, 4, 4, 4, 2]
    assert sorted(torch.cat(ys).tolist()) == sorted(b.train.y.tolist())
    assert len({tuple(row.tolist()) for row in torch.cat(xs).flatten(1)}) == 18  # all distinct


def test_streamed_data_equals_the_in_memory_data(pictures):
    memory = load_dataset(spec(pictures))
    stream = streamed(pictures, stats_samples=100)  # every train image: exact statistics
    assert stream.mean == pytest.approx(memory.mean) and stream.std == pytest.approx(memory.std)
    got = list(iter_batches(stream.val, 4, shuffle=False))
    x = torch.cat([x for x, _ in got])
    y = torch.cat([y for _, y in got])
    assert torch.equal(y, memory.val.y) and torch.allclose(x, memory.val.x, atol=1e-5)


def test_streaming_order_matches_in_memory_order_for_the_same_generator(pictures):
    memory = load_dataset(spec(pictures))
    stream = streamed(pictures)
    a = [y for _, y in iter_batches(memory.train, 5, shuffle=True, generator=torch.Generator().manual_seed(4))]
    b = [y for _, y in iter_batches(stream.train, 5, shuffle=True, generator=torch.Generator().manual_seed(4))]
    assert torch.equal(torch.cat(a), torch.cat(b))


def test_streaming_respects_start_and_augmentation(pictures):
    b = streamed(pictures)
    aug = Augment(flip=True, crop=1)
    full = list(iter_batches(b.train, 4, shuffle=True, generator=torch.Generator().manual_seed(2), augment=aug))
    rest = list(
        iter_batches(b.train, 4, shuffle=True, generator=torch.Generator().manual_seed(2), augment=aug, start=3)
    )
    assert len(rest) == 2
    for (xa, ya), (xb, yb) in zip(full[3:], rest, strict=True):
        assert torch.equal(ya, yb) and torch.equal(xa, xb)


def test_broken_image_in_a_stream_is_named(tmp_path):
    write_png_folder(tmp_path, {"a": 3, "b": 3}, size=(6, 6))
    b = load_dataset(spec(tmp_path, stream_threshold=100, workers=1, stats_samples=1))
    victim = b.train.dataset.files[0]
    with open(victim, "r+b") as f:
        f.truncate(45)
    with pytest.raises(DataError, match="img000.png"):
        list(iter_batches(b.train, 2, shuffle=False))
