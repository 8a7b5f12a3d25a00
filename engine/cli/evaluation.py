"""What `layerforge evaluate` prints: the metrics table, and for the tasks that have them
the per-class figures (segmentation's IoU and Dice, detection's AP) and the confusion
matrix; or, with ``--json``, everything the task's evaluation returns as one JSON object.

Class names come from folder names, label files and annotation files: every one is
escaped with :func:`for_terminal` before it reaches the layout.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from typing import Any

from engine.cli.running import metrics_table
from engine.errors import UsageError
from engine.terminal import for_terminal

NAME_WIDTH = 24
MAX_BEAM = 64
SHOWN_SAMPLES = 5
#: seq2seq and speech: the headline figures, (name as the user knows it, evaluation key)
LANGUAGE_HEADLINE = {
    "seq2seq": (("exact match", "exact_match"), ("BLEU", "bleu"), ("chrF", "chrf"),
                ("ROUGE-1", "rouge1"), ("ROUGE-2", "rouge2"), ("ROUGE-L", "rougeL"),
                ("token accuracy", "token_accuracy")),
    "speech": (("CER", "cer"), ("WER", "wer")),
}


def cmd_evaluate(args: argparse.Namespace) -> int:
    """`layerforge evaluate RUN [--split] [--beam N] [--json]`; with ``--group`` the bias
    report instead (engine.cli.fairness_cmds)."""
    from engine.train.inference import evaluate_run, open_run

    if (getattr(args, "group", None) or getattr(args, "positive", None)
            or getattr(args, "min_group", None) is not None):
        from engine.cli.fairness_cmds import cmd_bias_report

        return cmd_bias_report(args)

    beam = getattr(args, "beam", None)
    if beam is not None and not 1 <= beam <= MAX_BEAM:
        raise UsageError(f"--beam must be between 1 and {MAX_BEAM}")
    loaded = open_run(args.run_dir)
    kind = loaded.project.task.kind
    if beam is not None and kind not in LANGUAGE_HEADLINE:
        raise UsageError(f"--beam is for seq2seq and speech runs; this is a {kind} run")
    metrics = evaluate_run(loaded, args.split, beam_width=beam)
    if args.json:
        print(as_json(metrics))
    else:
        print(f"{for_terminal(loaded.run.path)} ({args.split}, "
              f"{for_terminal(loaded.bundle.describe())})")
        print_evaluation(metrics, kind, loaded.bundle.classes)
    if loaded.project.fairness.groupings:  # RUN/fairness.json beside the figures
        from engine.cli.fairness_cmds import write_bias_report

        write_bias_report(loaded, args.split, quiet=args.json)
    return 0


def add_group_args(p: argparse.ArgumentParser) -> None:
    """The bias report's options of `layerforge evaluate` (docs/fairness.md)."""
    p.add_argument("--group", action="append", default=[], metavar="GROUPING",
                   help="print the bias report for this grouping of the project, or for a "
                        "column of the CSV/texts data (repeatable)")
    p.add_argument("--min-group", type=int, metavar="N",
                   help="groups under N samples are flagged, not judged (fairness.min_group)")
    p.add_argument("--positive", metavar="CLASS",
                   help="the class counted as the positive outcome (default: one named "
                        "positive, 1, yes or true, else the first class)")


def as_json(metrics: dict[str, Any]) -> str:
    """``metrics`` as strict JSON: a figure that is not a number (NaN, infinite: a class
    the split never holds) becomes null, which every JSON reader accepts."""
    def plain(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        return v

    return json.dumps(plain(metrics), allow_nan=False)


def print_evaluation(metrics: dict[str, Any], kind: str, classes: Sequence[str] | None) -> None:
    """The figures of one evaluation as text: headline metrics first, with their names as
    the user knows them (mIoU, mAP@0.5), then the per-class table and the confusion
    matrix when the task has them."""
    from engine.export.vision_card import HEADLINE, PER_CLASS

    names = [for_terminal(c) for c in (metrics.get("classes") or classes or [])]
    if kind in LANGUAGE_HEADLINE:
        print_language(metrics, kind)
        return
    if kind in HEADLINE:
        shown = {label: metrics[key] for label, key in HEADLINE[kind] if key in metrics}
        keys = {key for _, key in HEADLINE[kind]}
        shown.update({k: v for k, v in metrics.items() if k not in keys})
        metrics_table(shown)
        cols = [(heading, metrics[key]) for heading, key in PER_CLASS[kind]
                if isinstance(metrics.get(key), list)]
        if cols:
            print("  per class")
            for line in per_class_lines(names, cols):
                print("   " + line)
    else:
        metrics_table(metrics)
    cm = metrics.get("confusion_matrix")
    if cm:
        from engine.tasks.classification import confusion_lines

        what = "pixels; " if kind == "segmentation" else ""
        print(f"  confusion matrix ({what}rows: true class, columns: predicted)")
        for line in confusion_lines(cm, names or None):
            print("   " + line)


def per_class_lines(names: Sequence[str], cols: Sequence[tuple[str, Sequence[Any]]]
                    ) -> list[str]:
    """A table with a row per class and a column per figure; a class with no figure (not
    in the split: None, NaN or COCO's -1) shows a dash. ``names`` are already escaped;
    long ones lose their end."""
    from engine.export.vision_card import figure

    rows = max(len(v) for _, v in cols)
    labels = [_short(names[i]) if i < len(names) else str(i) for i in range(rows)]
    cells = [[figure(v[i] if i < len(v) else None) for _, v in cols] for i in range(rows)]
    loc = max([len("class"), *(len(x) for x in labels)])
    widths = [max(len(h), 6) for h, _ in cols]
    out = ["class".ljust(loc) + "  " + "  ".join(h.rjust(w) for (h, _), w in
                                                 zip(cols, widths, strict=True))]
    for label, row in zip(labels, cells, strict=True):
        out.append(label.ljust(loc) + "  " + "  ".join(c.rjust(w) for c, w in
                                                      zip(row, widths, strict=True)))
    return out


def _short(name: str) -> str:
    return name if len(name) <= NAME_WIDTH else name[:NAME_WIDTH - 2] + ".."


def print_language(metrics: dict[str, Any], kind: str) -> None:
    """Seq2seq and speech: the text metrics, how the outputs were decoded, and the first
    outputs against their references (texts from the data: escaped)."""
    shown = {label: metrics[key] for label, key in LANGUAGE_HEADLINE[kind] if key in metrics}
    keys = {key for _, key in LANGUAGE_HEADLINE[kind]} | {"beam_width"}
    shown.update({k: v for k, v in metrics.items() if k not in keys})
    metrics_table(shown)
    width = metrics.get("beam_width")
    if isinstance(width, int):
        print("  decoding: " + ("greedy" if width == 1 else f"beam search, width {width}"))
    samples = metrics.get("samples") or []
    if samples:
        print(f"  first {min(len(samples), SHOWN_SAMPLES)} of {len(samples)} "
              "(= right, x wrong):")
    for s in samples[:SHOWN_SAMPLES]:
        mark = "=" if s.get("output") == s.get("reference") else "x"
        head = f"{for_terminal(str(s['source']))} -> " if "source" in s else ""
        print(f"   {mark} {head}{for_terminal(str(s.get('output')))}"
              f"  (reference: {for_terminal(str(s.get('reference')))})")
