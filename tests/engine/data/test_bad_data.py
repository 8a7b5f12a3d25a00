"""Each kind of broken data, as a real broken file: the error names the file and the problem."""

import gzip

import pytest
from PIL import Image

from engine.data import DataError, load_dataset
from engine.project import DatasetSpec
from tests.engine.data.helpers import idx_bytes, mnist_arrays, write_mnist_folder, write_png_folder


def load(source: str, path, **kw):
    return load_dataset(DatasetSpec(source=source, path=str(path), **kw))


def error(source: str, path, **kw) -> str:
    with pytest.raises(DataError) as info:
        load(source, path, **kw)
    return str(info.value)


# --- IDX ---------------------------------------------------------------------------------


def test_truncated_idx_says_expected_and_found_bytes(tmp_path):
    write_mnist_folder(tmp_path, gz=False, n_train=30)
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:5000])
    msg = error("idx", tmp_path)
    assert str(images) in msg and "truncated" in msg
    assert f"expected {16 + 30 * 784} bytes" in msg and "found 5000" in msg


def test_truncated_gzip_idx_is_reported(tmp_path):
    write_mnist_folder(tmp_path, gz=True)
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:20])
    msg = error("idx", tmp_path)
    assert str(labels) in msg and "truncated" in msg


def test_idx_with_bad_magic_number(tmp_path):
    write_mnist_folder(tmp_path, gz=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"GIF89a" + bytes(100))
    msg = error("idx", tmp_path)
    assert "train-labels-idx1-ubyte" in msg and "magic number 0x47494638" in msg


def test_idx_count_mismatch_names_both_files(tmp_path):
    write_mnist_folder(tmp_path, gz=False, n_train=30)
    _, labels = mnist_arrays(29, 1)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    msg = error("idx", tmp_path)
    assert "30 images" in msg and "29 labels" in msg and "train-labels-idx1-ubyte" in msg


def test_idx_folder_without_label_file(tmp_path):
    write_mnist_folder(tmp_path, gz=False)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    msg = error("idx", tmp_path)
    assert str(tmp_path) in msg and "no label" in msg


def test_idx_missing_folder(tmp_path):
    msg = error("idx", tmp_path / "absent")
    assert str(tmp_path / "absent") in msg and "no such folder" in msg


def test_gzip_that_is_not_gzip(tmp_path):
    write_mnist_folder(tmp_path, gz=True)
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(b"plain bytes, not compressed")
    msg = error("idx", tmp_path)
    assert str(bad) in msg and "gzip" in msg


# --- image folders -------------------------------------------------------------------------


def test_corrupt_image_is_named(tmp_path):
    write_png_folder(tmp_path, {"a": 3, "b": 3})
    bad = tmp_path / "b" / "img001.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    msg = error("folder", tmp_path)
    assert str(bad) in msg and "cannot read this image" in msg


def test_truncated_image_is_named(tmp_path):
    write_png_folder(tmp_path, {"a": 2, "b": 2}, size=(64, 64))
    bad = tmp_path / "a" / "img000.png"
    Image.effect_noise((64, 64), 50).save(bad)
    bad.write_bytes(bad.read_bytes()[:300])
    msg = error("folder", tmp_path)
    assert str(bad) in msg and "cannot read this image" in msg


def test_empty_class_folder_is_named(tmp_path):
    write_png_folder(tmp_path, {"a": 2, "b": 2})
    (tmp_path / "zebra").mkdir()
    msg = error("folder", tmp_path)
    assert str(tmp_path / "zebra") in msg and "has no images" in msg


def test_folder_without_class_folders(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "loose.png")
    msg = error("folder", tmp_path)
    assert str(tmp_path) in msg and "no class folders" in msg


def test_mixed_sizes_ask_for_an_image_size(tmp_path):
    write_png_folder(tmp_path, {"a": 2}, size=(8, 8))
    write_png_folder(tmp_path, {"b": 2}, size=(9, 9))
    msg = error("folder", tmp_path)
    assert "8x8" in msg and "9x9" in msg and "set an image size" in msg


def test_missing_image_folder(tmp_path):
    assert "no such folder" in error("folder", tmp_path / "nowhere")


# --- CSV ---------------------------------------------------------------------------------


def test_ragged_csv_row_names_file_and_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,c\n1,2,x\n3,4,y\n5,6\n7,8,z\n")
    msg = error("csv", path)
    assert f"{path}, line 4" in msg and "found 2 values" in msg and "3 columns" in msg


def test_non_numeric_feature_names_line_column_and_value(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("height,weight,kind\n1.5,60,a\n1.7,heavy,b\n")
    msg = error("csv", path)
    assert f"{path}, line 3" in msg and "'weight'" in msg and "'heavy'" in msg
    assert "not a number" in msg


def test_empty_feature_cell_is_reported(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,kind\n1,2,x\n3,,y\n")
    msg = error("csv", path)
    assert "line 3" in msg and "'b'" in msg and "is empty" in msg


def test_missing_target_column_lists_the_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,kind\n1,2,x\n")
    msg = error("csv", path, target="label")
    assert str(path) in msg and "'label'" in msg and "'a', 'b', 'kind'" in msg


def test_empty_csv(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("")
    msg = error("csv", path)
    assert str(path) in msg and "empty" in msg


def test_csv_with_only_a_header(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,c\n")
    assert "no data rows" in error("csv", path)


def test_missing_csv_file(tmp_path):
    path = tmp_path / "nope.csv"
    msg = error("csv", path)
    assert str(path) in msg and "no such file" in msg


def test_regression_task_with_text_target(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,y\n1,2.5\n2,lots\n")
    msg = error("csv", path, options={"task": "real"})
    assert "line 3" in msg and "'lots'" in msg


# --- text --------------------------------------------------------------------------------


def test_non_utf8_text_gives_the_byte_offset(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("first line\ncaf\u00e9 au lait\n".encode("latin-1") * 10)
    msg = error("text", path)
    assert str(path) in msg and "not UTF-8" in msg and "byte offset 14" in msg and "line 2" in msg


def test_empty_text_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    msg = error("text", path)
    assert str(path) in msg and "empty" in msg


def test_text_shorter_than_a_window(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("tiny")
    msg = error("text", path, seq_len=8)
    assert str(path) in msg and "4 characters" in msg and "(9)" in msg


def test_missing_text_file(tmp_path):
    path = tmp_path / "gone.txt"
    msg = error("text", path)
    assert str(path) in msg and "no such file" in msg


def test_gzip_helper_round_trips():
    # guards the fixture writer itself: a broken writer would make the tests above vacuous
    data = idx_bytes(mnist_arrays(3, 0)[0])
    assert gzip.decompress(gzip.compress(data)) == data and data[:4] == b"\x00\x00\x08\x03"
