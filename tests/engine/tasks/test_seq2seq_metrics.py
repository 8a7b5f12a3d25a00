"""The text scores of the seq2seq evaluation are the reference libraries' own."""

from __future__ import annotations

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from engine.tasks.text_metrics import text_metrics

REFS = ["the cat sat on the mat", "2021-03-03", "a quick brown fox jumps", "hello world"]
OUTS = ["the cat sat on a mat", "2021-03-03", "the quick brown dog jumped", ""]


def test_scores_equal_the_libraries_corpus_scores():
    m = text_metrics(OUTS, REFS)
    assert m["bleu"] == pytest.approx(sacrebleu.corpus_bleu(OUTS, [REFS]).score)
    assert m["chrf"] == pytest.approx(sacrebleu.corpus_chrf(OUTS, [REFS]).score)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    for key in ("rouge1", "rouge2", "rougeL"):
        want = sum(scorer.score(r, o)[key].fmeasure for o, r in zip(OUTS, REFS, strict=True)) / 4
        assert m[key] == pytest.approx(want)
    assert m["exact_match"] == 0.25
    assert 0 < m["bleu"] < 100 and 0 < m["rougeL"] < 1


def test_perfect_outputs_score_full_marks():
    m = text_metrics(REFS, REFS)
    assert m["exact_match"] == 1.0
    assert m["bleu"] == pytest.approx(100.0)
    assert m["chrf"] == pytest.approx(100.0)
    assert m["rouge1"] == pytest.approx(1.0) and m["rougeL"] == pytest.approx(1.0)


def test_no_outputs_give_zeros_not_an_error():
    assert text_metrics([], []) == {"exact_match": 0.0, "bleu": 0.0, "chrf": 0.0,
                                    "rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
