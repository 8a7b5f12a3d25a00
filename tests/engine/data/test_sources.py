"""Each file source with real files written to tmp_path."""

import numpy as np
import pytest
import torch
from PIL import Image

from engine.data import load_dataset
from engine.project import DatasetSpec
from tests.engine.data.helpers import mnist_arrays, write_mnist_folder, write_png_folder


def folder_spec(path, **kw) -> DatasetSpec:
    return DatasetSpec(source="folder", path=str(path), normalize=False, **kw)


def test_image_folder_loads_classes_from_sub_folders(tmp_path):
    write_png_folder(tmp_path, {"cat": 5, "dog": 5, "emu": 5})
    b = load_dataset(folder_spec(tmp_path, val_fraction=0.2))
    assert b.classes == ["cat", "dog", "emu"] and b.kind == "image"
    assert b.input_shape == (3, 8, 8) and (len(b.train), len(b.val)) == (12, 3)
    assert sorted(torch.cat([b.train.y, b.val.y]).tolist()) == [0] * 5 + [1] * 5 + [2] * 5


def test_image_folder_pixels_are_scaled_to_unit_range(tmp_path):
    write_png_folder(tmp_path, {"a": 1, "b": 1}, mode="RGB")
    b = load_dataset(folder_spec(tmp_path, val_fraction=0.0))
    first = b.train.x[b.train.y == 1][0]  # class 1, image 0: colour (40, 215, 120)
    assert torch.allclose(first[:, 0, 0], torch.tensor([40, 215, 120]) / 255.0)


def test_grey_images_give_one_channel(tmp_path):
    write_png_folder(tmp_path, {"a": 2, "b": 2}, mode="L")
    assert load_dataset(folder_spec(tmp_path)).input_shape == (1, 8, 8)


def test_grayscale_option_converts_colour_images(tmp_path):
    write_png_folder(tmp_path, {"a": 2, "b": 2}, mode="RGB")
    assert load_dataset(folder_spec(tmp_path, grayscale=True)).input_shape == (1, 8, 8)


def test_image_size_resizes_mixed_sizes(tmp_path):
    write_png_folder(tmp_path / "x", {"a": 2}, size=(10, 6))
    write_png_folder(tmp_path / "x", {"b": 2}, size=(7, 9))
    b = load_dataset(folder_spec(tmp_path / "x", image_size=16))
    assert b.input_shape == (3, 16, 16)


def test_image_folder_ignores_non_image_files(tmp_path):
    write_png_folder(tmp_path, {"a": 2, "b": 2})
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    (tmp_path / "README.md").write_text("hello")
    b = load_dataset(folder_spec(tmp_path, val_fraction=0.0))
    assert len(b.train) == 4


def test_jpeg_images_load_too(tmp_path):
    for k in ("a", "b"):
        (tmp_path / k).mkdir()
        Image.new("RGB", (12, 12), (10, 200, 30)).save(tmp_path / k / "photo.jpg")
    assert load_dataset(folder_spec(tmp_path)).input_shape == (3, 12, 12)


def test_csv_with_string_target_becomes_classes(tmp_path):
    path = tmp_path / "iris.csv"
    rows = ["length,width,kind"] + [f"{i},{i * 0.5},{'ab'[i % 2]}" for i in range(20)]
    path.write_text("\n".join(rows) + "\n")
    b = load_dataset(DatasetSpec(source="csv", path=str(path), normalize=False, val_fraction=0.0))
    assert (b.kind, b.target, b.classes, b.input_shape) == ("vector", "class", ["a", "b"], (2,))
    order = b.train.x[:, 0].long()
    assert torch.equal(b.train.y, order % 2)
    assert torch.allclose(b.train.x[:, 1], b.train.x[:, 0] * 0.5)


def test_csv_with_float_target_is_regression(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("size,rooms,price\n" + "".join(f"{i},{i % 3},{i * 1.5}\n" for i in range(10)))
    b = load_dataset(DatasetSpec(source="csv", path=str(path), normalize=False, val_fraction=0.0))
    assert (b.target, b.classes, b.target_shape) == ("real", None, (1,))
    assert torch.allclose(b.train.y[:, 0], b.train.x[:, 0] * 1.5)


def test_csv_target_column_can_be_named(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("label,a,b\n" + "".join(f"{'xyz'[i % 3]},{i},{-i}\n" for i in range(9)))
    b = load_dataset(DatasetSpec(source="csv", path=str(path), target="label", val_fraction=0.0))
    assert b.classes == ["x", "y", "z"] and b.input_shape == (2,)


def test_csv_task_option_forces_classes_sorted_by_value(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,grade\n" + "".join(f"{i},{[2, 10, 1][i % 3]}\n" for i in range(9)))
    spec = DatasetSpec(source="csv", path=str(path), val_fraction=0.0, options={"task": "class"})
    assert load_dataset(spec).classes == ["1", "2", "10"]


def test_csv_without_header_and_with_semicolons(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("".join(f"{i};{i * 2};{i % 2}.5\n" for i in range(8)))
    b = load_dataset(DatasetSpec(source="csv", path=str(path), val_fraction=0.0, normalize=False))
    assert len(b.train) == 8 and b.input_shape == (2,) and b.target == "real"


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_idx_folder_loads_train_and_t10k_test(tmp_path, gz):
    write_mnist_folder(tmp_path, gz=gz, n_train=30, n_test=10)
    b = load_dataset(DatasetSpec(source="idx", path=str(tmp_path), val_fraction=0.2, normalize=False))
    assert b.input_shape == (1, 28, 28) and b.classes == [str(d) for d in range(10)]
    assert (len(b.train), len(b.val), len(b.test)) == (24, 6, 10)
    images, labels = mnist_arrays(10, 2)
    assert torch.equal(b.test.y, torch.from_numpy(labels.astype(np.int64)))
    assert torch.allclose(b.test.x[:, 0] * 255, torch.from_numpy(images).float())


def test_idx_accepts_other_file_names(tmp_path):
    write_mnist_folder(tmp_path, gz=False, n_test=0)
    for p in tmp_path.glob("t10k*"):
        p.unlink()
    (tmp_path / "train-images-idx3-ubyte").rename(tmp_path / "my_images.idx3")
    (tmp_path / "train-labels-idx1-ubyte").rename(tmp_path / "my_labels.idx1")
    b = load_dataset(DatasetSpec(source="idx", path=str(tmp_path), val_fraction=0.0))
    assert len(b.train) == 30 and b.test is None


def test_text_file_gives_character_windows(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("héllo wörld, " * 40, encoding="utf-8")
    b = load_dataset(DatasetSpec(source="text", path=str(path), seq_len=16, val_fraction=0.25))
    assert (b.kind, b.input_dtype, b.target, b.input_shape) == ("tokens", "long", "next_token", (16,))
    assert b.vocab == sorted(set("héllo wörld, ")) and b.num_classes == len(b.vocab)
    assert b.decode(b.train.x[0]) == ("héllo wörld, " * 2)[:16]
    assert torch.equal(b.train.x[:, 1:], b.train.y[:, :-1])
    assert len(b.val) == (130 - 1 - 16) // 16 + 1  # the last quarter, 130 characters


def test_text_stride_option_overlaps_windows(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("abcdefghij" * 10)
    spec = DatasetSpec(source="text", path=str(path), seq_len=10, val_fraction=0.0,
                       options={"stride": 1})
    assert len(load_dataset(spec).train) == 100 - 10


def test_image_size_resizes_idx_images(tmp_path):
    write_mnist_folder(tmp_path, gz=True)
    b = load_dataset(DatasetSpec(source="idx", path=str(tmp_path), image_size=14))
    assert b.input_shape == (1, 14, 14) and b.test.x.shape[1:] == (1, 14, 14)
