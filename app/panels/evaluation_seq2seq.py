"""The evaluation panel's sequence-to-sequence view: exact match, BLEU, chrF and ROUGE
with the beam width to decode with, a table of source, reference and output (the wrong
ones first), and under it a line that leads to the Try it tab, where the user types a
source text of their own.

It shows an :class:`app.panels.run_results.Evaluation` of kind "seq2seq" whose
``samples`` are the engine's decoded samples ({source, reference, output}).
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.panels.evaluation_lang import DecodedSection
from app.panels.run_results import Evaluation

#: the metrics in the order a user reads them, with their names (BLEU and chrF are 0-100,
#: as sacrebleu gives them; the others 0-1)
FIGURES = (("exact_match", "exact match"), ("bleu", "BLEU"), ("chrf", "chrF"),
           ("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L"),
           ("token_accuracy", "token accuracy"), ("loss", "loss"))


def figures(metrics: dict) -> dict[str, float]:
    """The metrics the table lists, by their shown names."""
    return {name: metrics[key] for key, name in FIGURES
            if isinstance(metrics.get(key), int | float)}


def is_right(sample: dict[str, str]) -> bool:
    """Whether a decoded sample's output is its reference (spaces around aside)."""
    return str(sample.get("output", "")).strip() == str(sample.get("reference", "")).strip()


def wrong_first(samples: list[dict[str, str]]) -> list[int]:
    """Sample positions, those whose output differs from the reference first (each
    group in split order)."""
    return sorted(range(len(samples)), key=lambda i: (is_right(samples[i]), i))


class Seq2SeqSection(DecodedSection):
    """Metrics and beam width | samples table over the Try it link.
    ``beam_chosen(width)`` when the user asks for another beam width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(["Source", "Reference", "Output", "Right"], "text", parent=parent)

    def show_result(self, r: Evaluation) -> None:
        """Fill every view from a seq2seq evaluation."""
        self.result = r
        self.show_metrics(figures(r.metrics), r.beam_width)
        order = wrong_first(r.samples)
        wrong = sum(1 for s in r.samples if not is_right(s))
        self.table_title.setText(
            f"The first {len(order)} of {r.split_size or len(order)} samples, decoded with "
            f"beam width {r.beam_width}: {wrong} wrong (listed first)")
        rows = []
        for i in order:
            s = r.samples[i]
            rows.append((i, [s.get("source", ""), s.get("reference", ""), s.get("output", ""),
                             "yes" if is_right(s) else "no"]))
        self.table.fill(rows, stretch=(0, 1, 2))
