"""Scores of generated text against references: exact match, BLEU and chrF (sacrebleu),
ROUGE-1/2/L (rouge-score). Each is computed by its reference library, not by hand, so the
figures are the ones papers and leaderboards quote.

Scales are the libraries' own: BLEU and chrF from 0 to 100 (sacrebleu's corpus scores),
ROUGE as the mean F-measure per sentence from 0 to 1 (rouge-score's), exact match as the
fraction of outputs equal to their reference. Torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def exact_match(outputs: Sequence[str], references: Sequence[str]) -> float:
    """The fraction of outputs identical to their reference (surrounding spaces aside)."""
    if not outputs:
        return 0.0
    same = sum(o.strip() == r.strip() for o, r in zip(outputs, references, strict=True))
    return same / len(outputs)


def bleu(outputs: Sequence[str], references: Sequence[str]) -> float:
    """sacrebleu's corpus BLEU (0..100), one reference per output, its default 13a
    tokenisation."""
    import sacrebleu

    if not outputs:
        return 0.0
    return float(sacrebleu.corpus_bleu(list(outputs), [list(references)]).score)


def chrf(outputs: Sequence[str], references: Sequence[str]) -> float:
    """sacrebleu's corpus chrF (0..100): character n-gram F-score, kinder than BLEU to
    short outputs and to languages without spaces."""
    import sacrebleu

    if not outputs:
        return 0.0
    return float(sacrebleu.corpus_chrf(list(outputs), [list(references)]).score)


def rouge(outputs: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L (longest common subsequence): rouge-score's F-measure
    of each output against its reference, averaged over the outputs (0..1)."""
    from rouge_score import rouge_scorer

    if not outputs:
        return dict.fromkeys(ROUGE_TYPES, 0.0)
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES))
    sums = dict.fromkeys(ROUGE_TYPES, 0.0)
    for out, ref in zip(outputs, references, strict=True):
        scores = scorer.score(ref, out)  # (target, prediction)
        for key in ROUGE_TYPES:
            sums[key] += scores[key].fmeasure
    return {key: total / len(outputs) for key, total in sums.items()}


def text_metrics(outputs: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Every score above, keyed as the sequence-to-sequence evaluation reports them."""
    metrics = {"exact_match": exact_match(outputs, references),
               "bleu": bleu(outputs, references),
               "chrf": chrf(outputs, references)}
    metrics.update(rouge(outputs, references))
    return metrics
