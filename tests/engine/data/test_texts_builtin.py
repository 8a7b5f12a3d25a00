"""The built-in language sets: "sentiment" (balanced, negations on both sides, seeded) and
"dates" (every answer is the date its source writes); their facts without torch."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from engine.data import DataError, load_dataset
from engine.data.facts import data_facts, facts_of, quick_facts
from engine.data.texts.generate import DATE_FORMS, WEEKDAYS, dates, sentiment
from engine.project import DatasetSpec

# strptime reads English names in the C locale (the test process does not set another)
_FORMATS = ["%d %B %Y", "%B %d, %Y", "%m/%d/%Y", "%Y.%m.%d", "%a %d %b %y", "%d.%m.%Y",
            "%d-%b-%Y", "%A, %B %d, %Y", "%d of %B %Y", "%Y/%m/%d", "%b %d %Y", "%Y%m%d",
            "%d %b '%y", "%B %Y, day %d"]


def _parse(text: str) -> set[dt.date]:
    """Every date ``text`` reads as under the forms above; two-digit years 50-99 are 19xx."""
    text = re.sub(r"^(\d+)(st|nd|rd|th) of", r"\1 of", text, flags=re.IGNORECASE)
    found = set()
    for fmt in _FORMATS:
        try:
            d = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if "%y" in fmt and d.year >= 2050:
            d = d.replace(year=d.year - 100)
        found.add(d)
    return found


def test_dates_answers_are_the_written_dates() -> None:
    sources, targets = dates(3000, seed=5)
    for src, tgt in zip(sources, targets, strict=True):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", tgt)
        answer = dt.date.fromisoformat(tgt)
        assert _parse(src) == {answer}, (src, tgt)
        weekday = next((w for w in WEEKDAYS if w[:3].lower() in src.lower()), None)
        if weekday is not None:
            assert WEEKDAYS[answer.weekday()] == weekday, (src, tgt)


def test_dates_use_every_form_and_years_both_centuries() -> None:
    sources, targets = dates(3000, seed=1)
    assert len(DATE_FORMS) >= 8
    shapes = {re.sub(r"\d", "9", re.sub(r"[A-Za-z]+", "A", s)) for s in sources}
    assert len(shapes) >= 12
    years = {int(t[:4]) for t in targets}
    assert min(years) < 1960 and max(years) > 2040


def test_sentiment_is_balanced_and_needs_more_than_words() -> None:
    texts, labels = sentiment(1000, seed=3)
    assert labels.count("positive") == labels.count("negative") == 500
    assert len(set(texts)) > 950
    for word in ("not", "bad", "great", "but", "very"):
        sides = {y for t, y in zip(texts, labels, strict=True) if word in t.lower().split()}
        assert sides == {"negative", "positive"}, word


def test_builtins_are_seeded() -> None:
    a = load_dataset(DatasetSpec(name="sentiment", samples=200))
    b = load_dataset(DatasetSpec(name="sentiment", samples=200))
    c = load_dataset(DatasetSpec(name="sentiment", samples=200, split_seed=9))
    d = load_dataset(DatasetSpec(name="sentiment", samples=200, options={"seed": 9}))
    assert a.texts == b.texts and a.texts != c.texts
    assert sorted(c.texts["train"] + c.texts["val"]) == sorted(d.texts["train"] + d.texts["val"])
    assert a.summary["label_counts"] == {"negative": 100, "positive": 100}
    with pytest.raises(DataError, match="options.seed must be a whole number"):
        load_dataset(DatasetSpec(name="sentiment", options={"seed": "x"}))


@pytest.mark.parametrize("spec", [
    DatasetSpec(name="sentiment", samples=300, seq_len=20),
    DatasetSpec(name="dates", samples=300, tokenizer="char", target_len=12),
    DatasetSpec(name="dates", samples=300, tokenizer="bpe", vocab_size=60, shared_vocab=False),
], ids=["sentiment", "dates-char", "dates-bpe"])
def test_facts_agree_with_the_loaded_data(spec) -> None:
    bundle = load_dataset(spec)
    loaded = facts_of(bundle)
    if loaded.target_vocab is None and bundle.target_vocab:
        loaded = replace(loaded, target_vocab=tuple(bundle.target_vocab))  # facts_of lacks it
    assert quick_facts(spec) == loaded == data_facts(spec)


def test_dates_targets_are_framed_iso_dates() -> None:
    b = load_dataset(DatasetSpec(name="dates", samples=100, tokenizer="char", target_len=12))
    for y, tgt in zip(b.val.y, b.target_texts["val"], strict=True):
        assert b.target_tokenizer.decode(y.tolist()) == tgt
        assert y.tolist()[-1] == 3  # BOS + 10 characters + EOS fill target_len 12


def test_facts_of_text_builtins_need_no_torch() -> None:
    code = ("import sys; from engine.data.facts import quick_facts; "
            "from engine.data.texts import summary, preview; "
            "from engine.project import DatasetSpec; "
            "[quick_facts(DatasetSpec(name=n, samples=100)) for n in ('sentiment', 'dates')]; "
            "preview(DatasetSpec(name='dates', samples=100)); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
