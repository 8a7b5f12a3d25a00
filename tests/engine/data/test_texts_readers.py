"""Texts and pairs read from real small files: CSV, TSV, JSON Lines, JSON, a folder of .txt
files per class, two aligned files; columns found or chosen; splits; the tokenizer trained
on the training split only or given back from a run; the panel's summary and preview; the
editor's facts agreeing with the loaded data."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from engine.data import DataError, load_dataset
from engine.data.facts import data_facts, facts_of
from engine.data.texts import TextTokenizer, preview, summary
from engine.data.texts.tokenizer import BOS, EOS, UNK
from engine.project import DatasetSpec

REVIEWS = [("great phone, love it", "positive"), ("awful battery", "negative"),
           ("not bad at all", "positive"), ("the screen broke", "negative"),
           ("works fine", "positive"), ("a waste of money", "negative")] * 5


def texts_spec(path, **kw) -> DatasetSpec:
    return DatasetSpec(source="texts", path=str(path), **kw)


def same_facts(spec: DatasetSpec, bundle) -> None:
    """The editor's facts are the loaded data's own."""
    loaded = facts_of(bundle)
    if loaded.target_vocab is None and bundle.target_vocab:
        # facts_of does not copy target_vocab (yet): compare it from the bundle
        loaded = replace(loaded, target_vocab=tuple(bundle.target_vocab))
    assert data_facts(spec) == loaded


def write_csv(path, rows, header=("text", "label"), delimiter=","):
    import csv

    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        if header:
            w.writerow(header)
        w.writerows(rows)
    return path


def test_csv_with_header(tmp_path) -> None:
    path = write_csv(tmp_path / "reviews.csv", REVIEWS)
    spec = texts_spec(path, val_fraction=0.2, test_fraction=0.1, seq_len=8)
    b = load_dataset(spec)
    assert b.kind == "tokens" and b.target == "class" and b.input_dtype == "long"
    assert b.classes == ["negative", "positive"] and b.input_shape == (8,)
    assert (len(b.train), len(b.val), len(b.test)) == (21, 6, 3)
    assert b.train.x.dtype == torch.long and tuple(b.train.x.shape) == (21, 8)
    by_text = dict(REVIEWS)
    for split, name in ((b.train, "train"), (b.val, "val"), (b.test, "test")):
        for text, label in zip(b.texts[name], split.y.tolist(), strict=True):
            assert b.classes[label] == by_text[text]
    first = b.texts["train"][0]
    assert b.train.x[0].tolist()[: len(b.tokenizer.encode(first))] == b.tokenizer.encode(first)
    assert b.vocab == b.tokenizer.tokens()
    assert b.summary["columns"] == {"text": "text", "target": "label", "all": ["text", "label"],
                                    "header": True}
    same_facts(spec, b)


def test_splits_are_deterministic_and_follow_the_seed(tmp_path) -> None:
    path = write_csv(tmp_path / "r.csv", REVIEWS)
    a, b = load_dataset(texts_spec(path)), load_dataset(texts_spec(path))
    assert a.texts == b.texts and torch.equal(a.train.x, b.train.x)
    other = load_dataset(texts_spec(path, split_seed=7))
    assert other.texts["val"] != a.texts["val"]


def test_tsv_columns_found_by_name_or_given(tmp_path) -> None:
    rows = [(str(i), t, label) for i, (t, label) in enumerate(REVIEWS)]
    path = write_csv(tmp_path / "r.tsv", rows, ("id", "review", "stars"), delimiter="\t")
    b = load_dataset(texts_spec(path, target="stars"))
    assert b.summary["columns"]["text"] == "review" and b.classes == ["negative", "positive"]
    by_number = load_dataset(texts_spec(path, text_column="2", target="3"))
    assert by_number.texts == b.texts
    with pytest.raises(DataError, match="no column 'rating'.*'id', 'review', 'stars'"):
        load_dataset(texts_spec(path, target="rating"))


def test_headerless_csv_keeps_its_first_row(tmp_path) -> None:
    path = write_csv(tmp_path / "r.csv", REVIEWS, header=None)
    s = summary(texts_spec(path))
    assert s["samples"] == len(REVIEWS) and s["columns"]["header"] is False
    assert s["label_counts"] == {"negative": 15, "positive": 15}


def test_a_header_of_unknown_names_is_found_from_the_labels(tmp_path) -> None:
    path = write_csv(tmp_path / "r.csv", REVIEWS, header=("tweet", "polarity"))
    s = summary(texts_spec(path))
    assert s["samples"] == len(REVIEWS) and s["classes"] == ["negative", "positive"]
    assert s["columns"]["text"] == "tweet"


def test_jsonl_with_numeric_labels(tmp_path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps({"id": i, "sentence": t, "sentiment": int(y == "positive")})
                              for i, (t, y) in enumerate(REVIEWS)) + "\n", encoding="utf-8")
    b = load_dataset(texts_spec(path))
    assert b.classes == ["0", "1"] and b.summary["columns"]["text"] == "sentence"
    assert sorted(b.texts["train"] + b.texts["val"]) == sorted(t for t, _ in REVIEWS)


def test_json_array(tmp_path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{"text": t, "label": y} for t, y in REVIEWS]), encoding="utf-8")
    assert summary(texts_spec(path))["samples"] == len(REVIEWS)


def test_class_folders(tmp_path) -> None:
    for k, (text, label) in enumerate(REVIEWS):
        folder = tmp_path / "data" / label
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{k}.txt").write_text(text + "\n", encoding="utf-8")
    (tmp_path / "data" / "positive" / "notes.md").write_text("not a sample")
    spec = texts_spec(tmp_path / "data", val_fraction=0.2)
    b = load_dataset(spec)
    assert b.classes == ["negative", "positive"] and len(b.train) + len(b.val) == len(REVIEWS)
    assert b.summary["columns"] is None
    same_facts(spec, b)


def test_tokenizer_is_trained_on_the_training_split_only(tmp_path) -> None:
    rows = [(f"common word{k}", "a" if k % 2 else "b") for k in range(40)]
    path = write_csv(tmp_path / "r.csv", rows)
    b = load_dataset(texts_spec(path, val_fraction=0.25))
    vocab = set(b.vocab)
    assert all(t.split()[1] in vocab for t in b.texts["train"])
    for text, x in zip(b.texts["val"], b.val.x, strict=True):
        assert text.split()[1] not in vocab
        assert x.tolist()[:2] == [b.vocab.index("common"), UNK]


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_given_back_tokenizer_is_used(tmp_path, kind) -> None:
    """A run is evaluated and resumed with the ids it trained on, even if the data now
    would train another tokenizer."""
    path = write_csv(tmp_path / "r.csv", REVIEWS)
    saved = TextTokenizer.train(["zebra crossing", "awful zebra"], kind, 50)
    b = load_dataset(texts_spec(path, tokenizer=kind), tokenizers={"tokenizer": saved.to_json()})
    assert b.tokenizer.to_json() == saved.to_json() and b.vocab == saved.tokens()
    text = b.texts["train"][0]
    assert b.train.x[0].tolist()[: len(saved.encode(text))] == saved.encode(text)
    with pytest.raises(DataError, match="saved tokenizer cannot be read"):
        load_dataset(texts_spec(path), tokenizers={"tokenizer": "{broken"})


def test_pairs_tsv_shared_vocabulary(tmp_path) -> None:
    pairs = [(f"{n} apples", f"{n} pommes") for n in range(30)]
    path = write_csv(tmp_path / "p.tsv", pairs, ("source", "target"), delimiter="\t")
    spec = DatasetSpec(source="pairs", path=str(path), tokenizer="word", seq_len=6, target_len=5)
    b = load_dataset(spec)
    assert b.target == "sequence" and b.target_shape == (5,) and b.classes is None
    assert b.target_tokenizer is b.tokenizer and b.target_vocab is b.vocab
    for src, tgt, x, y in zip(b.texts["train"], b.target_texts["train"], b.train.x, b.train.y,
                              strict=True):
        assert b.tokenizer.decode(x.tolist()) == src
        assert y[0] == BOS and b.tokenizer.decode(y.tolist()) == tgt
        assert y.tolist()[len(tgt.split()) + 1] == EOS
    same_facts(spec, b)


def test_pairs_cut_targets_keep_the_end_token(tmp_path) -> None:
    pairs = [("long", "one two three four five six")] * 10
    path = write_csv(tmp_path / "p.csv", pairs, ("src", "tgt"))
    b = load_dataset(DatasetSpec(source="pairs", path=str(path), target_len=4))
    y = b.train.y[0].tolist()
    assert y[0] == BOS and y[-1] == EOS and b.target_tokenizer.decode(y) == "one two"
    assert b.summary["target_truncated"] == 10


def test_pairs_aligned_files_separate_vocabularies(tmp_path) -> None:
    (tmp_path / "en.txt").write_text("\n".join(f"cat {n}" for n in range(20)) + "\n")
    (tmp_path / "fr.txt").write_text("\n".join(f"chat {n}" for n in range(20)) + "\n\n")
    spec = DatasetSpec(source="pairs", path=str(tmp_path / "en.txt"),
                       target_path=str(tmp_path / "fr.txt"), shared_vocab=False)
    b = load_dataset(spec)
    assert b.target_tokenizer is not b.tokenizer
    assert "chat" in b.target_vocab and "chat" not in b.vocab and "cat" in b.vocab
    assert len(b.train) + len(b.val) == 20
    same_facts(spec, b)


def test_pairs_jsonl(tmp_path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"input": f"{n}+{n}", "output": str(2 * n)}) + "\n"
                            for n in range(25)))
    b = load_dataset(DatasetSpec(source="pairs", path=str(path), tokenizer="char"))
    assert b.summary["columns"]["text"] == "input" and b.summary["columns"]["target"] == "output"
    assert len(b.train) + len(b.val) == 25


def test_summary_and_preview(tmp_path) -> None:
    path = write_csv(tmp_path / "r.csv", REVIEWS)
    spec = texts_spec(path, seq_len=3)
    s = summary(spec)
    assert s["samples"] == 30 and s["splits"] == {"train": 24, "val": 6, "test": 0}
    assert s["label_counts"] == {"negative": 15, "positive": 15}
    assert sum(s["lengths"]["counts"]) == 30
    assert len(s["lengths"]["bins"]) == len(s["lengths"]["counts"]) + 1
    assert s["truncated"] == sum(len(t.split()) + t.count(",") > 3 for t, _ in REVIEWS)
    p = preview(spec, rows=4)
    assert [(r["text"], r["label"]) for r in p["rows"]] == REVIEWS[:4]
    assert {r["split"] for r in p["rows"]} <= {"train", "val"}
    assert load_dataset(spec).summary == s
