"""Bad text data, as real broken files, in both modes: "stop" raises a DataError naming the
file, the line and the way out; "skip" leaves the entry out and counts it. Damaged files
(random mutations) never raise anything but DataError."""

from __future__ import annotations

import json
import random

import pytest

from engine.data import DataError, load_dataset
from engine.data.problems import SHOWN_PROBLEMS
from engine.data.texts import records
from engine.project import DatasetSpec

GOOD = [("great phone", "pos"), ("awful battery", "neg"), ("not bad", "pos"),
        ("broke in a day", "neg")] * 3
HINT = "set Bad entries (dataset.bad_entries) to Skip"


def spec(path, mode="stop", source="texts", **kw) -> DatasetSpec:
    kw.setdefault("val_fraction", 0.1)
    return DatasetSpec(source=source, path=str(path), bad_entries=mode, **kw)


def stopped(path, *needles, **kw) -> str:
    with pytest.raises(DataError) as info:
        load_dataset(spec(path, "stop", **kw))
    msg = str(info.value)
    for needle in (*needles, HINT):
        assert str(needle) in msg, msg
    return msg


def skipped(path, count, shown=None, **kw):
    """Loading in skip mode works; the summary counts ``count`` skipped entries and lists
    ``shown`` problems (one per entry unless given)."""
    b = load_dataset(spec(path, "skip", **kw))
    assert b.summary["skipped"] == count, b.summary["problems"]
    assert len(b.summary["problems"]) == min(count if shown is None else shown,
                                             SHOWN_PROBLEMS)
    return b


def csv_file(tmp_path, lines, name="r.csv") -> str:
    path = tmp_path / name
    path.write_bytes(("text,label\n" + "".join(f"{t},{y}\n" for t, y in GOOD)).encode()
                     + b"".join(lines))
    return path


def test_row_without_text(tmp_path) -> None:
    path = csv_file(tmp_path, [b",pos\n"])
    stopped(path, str(path), "line 14", "no text in column 'text'")
    b = skipped(path, 1)
    assert len(b.texts["train"]) + len(b.texts["val"]) == len(GOOD)


def test_row_without_label(tmp_path) -> None:
    path = csv_file(tmp_path, [b"fine phone,\n", b"ok phone,  \n"])
    stopped(path, "line 14", "no label in column 'label'")
    skipped(path, 2)


def test_ragged_row(tmp_path) -> None:
    path = csv_file(tmp_path, [b"good, cheap phone,pos\n"])
    stopped(path, "line 14", "found 3 values", "2 columns", "needs quotes")
    skipped(path, 1)


def test_not_utf8_line(tmp_path) -> None:
    path = csv_file(tmp_path, [b"caf\xe9 was nice,pos\n"])
    stopped(path, "line 14", "not UTF-8")
    skipped(path, 1)


def test_invalid_json_lines(tmp_path) -> None:
    path = tmp_path / "r.jsonl"
    lines = [json.dumps({"text": t, "label": y}) for t, y in GOOD]
    lines[2] = '{"text": "cut off'
    lines[4] = '["a list"]'
    lines[6] = '{"text": "no label"}'
    lines[8] = '{"text": {"nested": 1}, "label": "pos"}'
    path.write_text("\n".join(lines) + "\n")
    stopped(path, "line 3", "not valid JSON")
    b = skipped(path, 4)
    problems = "\n".join(b.summary["problems"])
    for needle in ("line 3: not valid JSON", "line 5: is a JSON list", "line 7: no label",
                   "line 9: 'text' holds dict"):
        assert needle in problems


def test_class_folders_bad_file_and_empty_class(tmp_path) -> None:
    root = tmp_path / "data"
    for k, (t, y) in enumerate(GOOD):
        (root / y).mkdir(parents=True, exist_ok=True)
        (root / y / f"{k}.txt").write_text(t)
    (root / "neg" / "latin1.txt").write_bytes(b"ol\xe9")
    (root / "pos" / "empty.txt").write_text("  \n")
    (root / "unused").mkdir()
    msg = stopped(root, "latin1.txt", "line 1", "not UTF-8")
    assert "ol" not in msg.split("latin1.txt")[0][-3:]
    b = skipped(root, 3)
    assert b.classes == ["neg", "pos"]  # the empty class folder is left out
    assert any("unused: the class folder holds no .txt files" in p for p in b.summary["problems"])


def test_mismatched_pair_counts_name_both_files(tmp_path) -> None:
    src, tgt = tmp_path / "en.txt", tmp_path / "de.txt"
    src.write_text("".join(f"cat {n}\n" for n in range(12)))
    tgt.write_text("".join(f"katze {n}\n" for n in range(10)))
    kw = {"source": "pairs", "target_path": str(tgt)}
    stopped(src, str(src), str(tgt), "en.txt has 12 lines but de.txt has 10", **kw)
    b = skipped(src, 2, shown=1, **kw)  # one problem: two lines without a partner
    assert len(b.train) + len(b.val) == 10


def test_pair_with_an_empty_side(tmp_path) -> None:
    src, tgt = tmp_path / "en.txt", tmp_path / "de.txt"
    src.write_text("".join(f"cat {n}\n" for n in range(10)))
    tgt.write_text("".join(f"katze {n}\n" if n != 4 else "\n" for n in range(10)))
    kw = {"source": "pairs", "target_path": str(tgt)}
    stopped(src, f"{tgt}: line 5: holds no text", **kw)
    skipped(src, 1, **kw)


def test_whole_file_problems_are_errors_not_entries(tmp_path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_dataset(spec(tmp_path / "missing.csv"))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="the file is empty"):
        load_dataset(spec(tmp_path / "empty.csv"))
    one = tmp_path / "one.csv"
    one.write_text("text,label\n" + "".join(f"{t},same\n" for t, _ in GOOD))
    with pytest.raises(DataError, match="found one class, 'same'"):
        load_dataset(spec(one))
    with pytest.raises(DataError, match="no path is set"):
        load_dataset(DatasetSpec(source="texts"))
    allbad = tmp_path / "allbad.csv"
    allbad.write_text("text,label\n,a\n,b\n")
    with pytest.raises(DataError, match=r"found no samples \(2 bad entries were skipped\)"):
        load_dataset(spec(allbad, "skip"))


def test_absurd_sizes_are_refused_before_reading(tmp_path, monkeypatch) -> None:
    path = csv_file(tmp_path, [])
    monkeypatch.setattr(records, "MAX_TEXT_BYTES", 64)
    with pytest.raises(DataError, match="LayerForge reads text data of at most 64 bytes"):
        load_dataset(spec(path))
    root = tmp_path / "data"
    for y in ("a", "b"):
        (root / y).mkdir(parents=True)
        (root / y / "t.txt").write_text("x" * 40)
    monkeypatch.setattr("engine.data.texts.folders.MAX_TEXT_BYTES", 64)
    with pytest.raises(DataError, match="hold more than 64 bytes"):
        load_dataset(spec(root))


def _mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(4)
        at = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(at, len(b) - 1)] = rng.randrange(256)
        elif op == 1:
            b[at:at] = rng.choice([b",", b"\t", b'"', b"\n", b"{", b"\xff\xfe", b"\x00", b"\r"])
        elif op == 2:
            del b[at:at + rng.randint(1, 20)]
        else:
            b = b[:at]
    return bytes(b)


@pytest.mark.parametrize("name", ["r.csv", "r.tsv", "r.jsonl"])
def test_mutated_files_only_raise_data_errors(tmp_path, name) -> None:
    if name == "r.jsonl":
        good = "".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in GOOD).encode()
    else:
        sep = "\t" if name == "r.tsv" else ","
        good = ("text" + sep + "label\n" + "".join(f"{t}{sep}{y}\n" for t, y in GOOD)).encode()
    rng = random.Random(name)
    path = tmp_path / name
    for trial in range(40):
        path.write_bytes(_mutate(good, rng))
        for mode in ("stop", "skip"):
            try:
                load_dataset(spec(path, mode, val_fraction=0.0))
            except DataError:
                pass
            except Exception as e:  # pragma: no cover - the failure is the report
                raise AssertionError(f"trial {trial} ({mode}): {type(e).__name__}: {e}\n"
                                     f"{path.read_bytes()!r}") from e


def test_skip_counts_every_entry_but_lists_the_first_fifty(tmp_path) -> None:
    path = csv_file(tmp_path, [f"text {k},\n".encode() for k in range(60)])
    b = load_dataset(spec(path, "skip"))
    assert b.summary["skipped"] == 60 and len(b.summary["problems"]) == 50
    assert b.summary["problems"][0].endswith("line 14: no label in column 'label'")
