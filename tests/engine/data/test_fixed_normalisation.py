"""A pretrained backbone's normalisation: ``dataset.mean``/``std`` replace the training
split's statistics for every image source, greyscale images going into an RGB backbone get
their channel repeated, and the run's data description (hence every export) carries them.
"""

from __future__ import annotations

import pytest
import torch

from engine.data.core import DataError, iter_batches
from engine.data.facts import facts_of, quick_facts
from engine.data.loader import load_dataset
from engine.export.preprocessing import check_info, describe
from engine.project import DatasetSpec
from engine.train.rundir import data_info
from tests.engine.data.helpers import write_mnist_folder, write_png_folder

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def _expected(raw: torch.Tensor, channel: int) -> torch.Tensor:
    """What channel ``channel`` must hold for pixels ``raw`` in [0, 1]."""
    return (raw - MEAN[channel]) / STD[channel]


def test_builtin_greyscale_images_become_rgb_with_the_fixed_statistics():
    plain = load_dataset(DatasetSpec(name="shapes", samples=40, normalize=False, image_size=32))
    fixed = load_dataset(DatasetSpec(name="shapes", samples=40, image_size=32, mean=MEAN, std=STD))
    assert plain.input_shape == (1, 32, 32) and fixed.input_shape == (3, 32, 32)
    assert fixed.mean == MEAN and fixed.std == STD  # not the training split's statistics
    for c in range(3):
        assert torch.allclose(fixed.train.x[:, c], _expected(plain.train.x[:, 0], c), atol=1e-6)
        assert torch.allclose(fixed.val.x[:, c], _expected(plain.val.x[:, 0], c), atol=1e-6)
    spec = DatasetSpec(name="shapes", samples=40, image_size=32, mean=MEAN, std=STD)
    assert quick_facts(spec) == facts_of(fixed)  # the editor's shapes agree with the data


def test_rgb_folder_in_memory_and_streaming_use_the_fixed_statistics(tmp_path):
    root = write_png_folder(tmp_path / "pics", {"a": 9, "b": 9}, size=(12, 12))
    plain = load_dataset(DatasetSpec(source="folder", path=str(root), normalize=False))
    memory = load_dataset(DatasetSpec(source="folder", path=str(root), mean=MEAN, std=STD))
    for c in range(3):
        assert torch.allclose(memory.train.x[:, c], _expected(plain.train.x[:, c], c), atol=1e-6)
    stream = load_dataset(DatasetSpec(source="folder", path=str(root), mean=MEAN, std=STD,
                                      options={"stream_threshold": 100, "workers": 0}))
    assert stream.train.streaming and stream.mean == MEAN and stream.std == STD
    x = torch.cat([x for x, _ in iter_batches(stream.val, 4, shuffle=False)])
    assert torch.allclose(x, memory.val.x, atol=1e-6)


def test_greyscale_folder_streams_as_rgb(tmp_path):
    root = write_png_folder(tmp_path / "grey", {"a": 5, "b": 5}, size=(10, 10), mode="L")
    spec = DatasetSpec(source="folder", path=str(root), mean=MEAN, std=STD,
                       options={"stream_threshold": 10, "workers": 0})
    plain = load_dataset(DatasetSpec(source="folder", path=str(root), normalize=False))
    stream = load_dataset(spec)
    assert plain.input_shape == (1, 10, 10) and stream.input_shape == (3, 10, 10)
    x = torch.cat([x for x, _ in iter_batches(stream.val, 4, shuffle=False)])
    for c in range(3):
        assert torch.allclose(x[:, c], _expected(plain.val.x[:, 0], c), atol=1e-6)


def test_idx_greyscale_with_an_rgb_backbone(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist", gz=True)
    plain = load_dataset(DatasetSpec(source="idx", path=str(folder), normalize=False))
    fixed = load_dataset(DatasetSpec(source="idx", path=str(folder), mean=MEAN, std=STD))
    assert fixed.input_shape == (3, 28, 28)
    assert torch.allclose(fixed.test.x[:, 2], _expected(plain.test.x[:, 0], 2), atol=1e-6)


def test_wrong_fixed_statistics_are_refused_with_a_sentence(tmp_path):
    root = write_png_folder(tmp_path / "pics", {"a": 3, "b": 3})
    with pytest.raises(DataError, match=r"have 1 values .* the images have 3 channels"):
        load_dataset(DatasetSpec(source="folder", path=str(root), mean=[0.5], std=[0.5]))
    with pytest.raises(DataError, match="must be set together"):
        load_dataset(DatasetSpec(source="folder", path=str(root), mean=MEAN, std=[0.2, 0.2]))
    with pytest.raises(DataError, match="must be set together"):
        load_dataset(DatasetSpec(source="folder", path=str(root), mean=MEAN))
    with pytest.raises(DataError, match="positive"):
        load_dataset(DatasetSpec(source="folder", path=str(root), mean=MEAN, std=[0.2, 0.0, 0.2]))
    text = tmp_path / "t.txt"
    text.write_text("hello world " * 50)
    with pytest.raises(DataError, match="not text"):
        load_dataset(DatasetSpec(source="text", path=str(text), mean=[0.5], std=[0.5]))


def test_the_run_records_the_fixed_statistics_for_every_export():
    spec = DatasetSpec(name="shapes", samples=20, image_size=16, mean=MEAN, std=STD)
    info = check_info(data_info(load_dataset(spec), spec), "data.json")
    assert info["mean"] == MEAN and info["std"] == STD
    assert info["input_shape"] == [3, 16, 16]
    assert any(f"mean = {MEAN!r}, std = {STD!r}" in line for line in describe(info))
