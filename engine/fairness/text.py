"""The bias report as text (the CLI table) and as Markdown (the model card), both from
the plain dict of ``BiasReport.to_dict()`` (what RUN/fairness.json holds), so a card is
written from the file without loading anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.fairness.report import METRIC_LABELS, METRICS

GAP_LABELS = (("demographic parity", "demographic_parity_difference",
               "demographic_parity_ratio"),
              ("equalized odds", "equalized_odds_difference", "equalized_odds_ratio"))
NAME_WIDTH = 24


def figure(v: Any, metric: str = "") -> str:
    if v is None:
        return "-"
    if metric == "count":
        return str(int(v))
    return f"{float(v):.3f}"


def _short(name: str) -> str:
    return name if len(name) <= NAME_WIDTH else name[:NAME_WIDTH - 2] + ".."


def report_lines(report: dict[str, Any], escape: Callable[[str], str] = str) -> list[str]:
    """Each grouping: a heading, a row per group (small ones marked ``*``), the overall
    row, and the gaps."""
    out: list[str] = []
    positive = escape(str(report.get("positive", "")))
    for name, g in report.get("groupings", {}).items():
        split = report.get("split") or ""
        out.append(f"grouping {escape(name)}" + (f" ({split} split)" if split else "")
                   + f"; positive class: {positive}")
        labels = [escape(_short(str(r["group"]))) + ("*" if r.get("small") else "")
                  for r in g["groups"]]
        width = max([len("overall"), len("group"), *(len(x) for x in labels)])
        heads = [METRIC_LABELS[m] for m in METRICS]
        widths = [max(len(h), 6) for h in heads]
        out.append("  " + "group".ljust(width) + "  "
                   + "  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True)))
        rows = [(label, r) for label, r in zip(labels, g["groups"], strict=True)]
        rows.append(("overall", g["overall"]))
        for label, r in rows:
            out.append("  " + label.ljust(width) + "  " + "  ".join(
                figure(r.get(m), m).rjust(w) for m, w in zip(METRICS, widths, strict=True)))
        if g.get("small"):
            out.append(f"  * under {report.get('min_group')} samples: too few to judge, left "
                       "out of the gaps and the ranking")
        for label, diff, ratio in GAP_LABELS:
            if g.get(diff) is None:
                out.append(f"  {label}: needs two groups of {report.get('min_group')} or more "
                           "samples")
                break
            out.append(f"  {label}: difference {figure(g[diff])}, ratio {figure(g.get(ratio))}")
        out.append("")
    return out[:-1] if out else ["no groupings"]


def markdown_lines(report: dict[str, Any], escape: Callable[[str], str]) -> list[str]:
    """Each grouping as a Markdown table, small groups marked, then its gaps."""
    out: list[str] = []
    heads = [METRIC_LABELS[m] for m in METRICS]
    for name, g in report.get("groupings", {}).items():
        out += [f"**{escape(name)}**", "",
                "| group | " + " | ".join(heads) + " |",
                "|---|" + "---:|" * len(heads)]
        for r in g["groups"]:
            flag = " (too few to judge)" if r.get("small") else ""
            out.append(f"| {escape(str(r['group']))}{flag} | "
                       + " | ".join(figure(r.get(m), m) for m in METRICS) + " |")
        out.append("| overall | " + " | ".join(figure(g["overall"].get(m), m)
                                               for m in METRICS) + " |")
        out.append("")
        gaps = [f"{label}: difference {figure(g[diff])}, ratio {figure(g.get(ratio))}"
                for label, diff, ratio in GAP_LABELS if g.get(diff) is not None]
        if gaps:
            out += ["; ".join(gaps).capitalize() + ".", ""]
        else:
            out += [f"Fewer than two groups have {report.get('min_group')} or more samples: "
                    "no gaps are given.", ""]
    return out
