"""The model card's fairness section (see engine.export.card_runs): the bias report of
each grouping as RUN/fairness.json holds it (written by ``layerforge evaluate`` and the
app's Fairness view), small groups flagged; group names are escaped as Markdown."""

from __future__ import annotations

from engine.export.common import Source


def section(src: Source) -> list[str]:
    from engine.export.card import md_text
    from engine.fairness.run import read_fairness
    from engine.fairness.text import markdown_lines

    report = read_fairness(src.origin)
    if report is None:
        if not src.project.fairness.groupings:
            return []
        return ["", "## Fairness", "",
                "The project names groupings, but the run has no bias report yet; run "
                "`layerforge evaluate RUN_DIR` (or open the Fairness view) to add it.", ""]
    split = md_text(report.get("split") or "val")
    lines = ["", "## Fairness", "",
             f"Bias report on the {split} split (Fairlearn `MetricFrame`); positive class "
             f"{md_text(report.get('positive', ''))}. Groups under "
             f"{int(report.get('min_group') or 0)} samples are too few to judge: they are "
             "flagged and left out of the gaps.", ""]
    lines += markdown_lines(report, md_text)
    for note in report.get("notes") or []:
        lines += [md_text(note, 400, line_start=True), ""]
    return lines
