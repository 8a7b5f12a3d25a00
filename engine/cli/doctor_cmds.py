"""``layerforge doctor RUN_DIR``: a run's health, from its run folder. The latest block
statistics as a table (one row per block, in forward order), then the training doctor's
findings (:mod:`engine.train.doctor`), most important first, each with its fix; ``--json``
prints both as one JSON object. docs/training-health.md is the user's page.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from dataclasses import asdict
from typing import Any

from engine.terminal import for_terminal

#: the table's columns, headed by the statistics' names (as --json and events.jsonl name them)
COLUMNS = ("act_mean", "act_std", "dead", "grad_out", "grad_params", "update_ratio",
           "param_norm")
#: the width findings are wrapped to
WIDTH = 100
#: why a run has no statistics: they were off, or it ended before its first measurement
NO_STATS = {
    True: "This run has no block statistics: it trained with training.stats_every = 0.",
    False: "This run has no block statistics: none were recorded (it trained with a "
           "LayerForge that did not measure them, or it ended before its first step).",
}
TURN_ON = ("Train it again with statistics on, e.g. `layerforge train FILE --set "
           "training.stats_every=50`, to see each block's activations, dead units, "
           "gradients and updates.")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="a run's health: each block's latest statistics "
                       "(activations, dead units, gradients, updates) and what looks wrong, "
                       "with fixes")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run folder")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object: {"blocks": {...}, "findings": [...]}')
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    from engine.train.doctor import diagnose, latest_block_stats, read_run

    run = read_run(args.run_dir)
    blocks = latest_block_stats(run.stats)
    findings = diagnose(run.project, run.stats, run.epochs, run.warnings)
    if args.json:
        doc = {"blocks": blocks, "findings": [asdict(f) for f in findings]}
        print(json.dumps(_finite(doc), indent=2, allow_nan=False))
        return 0
    if blocks:
        print(_table(blocks))
    else:
        off = run.project.training.stats_every == 0
        print(textwrap.fill(f"{NO_STATS[off]} {TURN_ON}", WIDTH))
    print()
    if not findings:
        print("Findings: none; nothing looks wrong." if blocks else
              "Findings: none from the epochs and warnings alone.")
    else:
        print("Findings:")
        for f in findings:
            where = f" {for_terminal(f.block)}" if f.block else ""
            when = f" (step {f.step})" if f.step else ""
            print(textwrap.fill(f"{f.severity}{where}{when}: {for_terminal(f.message)}", WIDTH,
                                initial_indent="  ", subsequent_indent="    "))
            if f.fix is not None:
                print(f"    fix: {for_terminal(f.fix.label)}")
    return 0


def _table(blocks: dict[str, dict[str, Any]]) -> str:
    steps = {v.get("step") for v in blocks.values()}
    title = (f"Block statistics at step {steps.pop()}:" if len(steps) == 1
             else "Block statistics (each block's latest measurement):")
    rows = [["block", *COLUMNS]]
    rows += [[for_terminal(key), *(_cell(name, v.get(name)) for name in COLUMNS)]
             for key, v in blocks.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [title]
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                      for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(lines)


def _cell(name: str, v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return "-"
    if v != v or v in (float("inf"), float("-inf")):
        return "nan" if v != v else "inf"
    if name == "dead":
        return f"{v * 100:.3g}%"
    return f"{v:.3g}" if 1e-3 <= abs(v) < 1e4 or v == 0 else f"{v:.2e}"


def _finite(v: Any) -> Any:
    """JSON without NaN or infinities (written as null, as events.jsonl writes them)."""
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else None
    if isinstance(v, dict):
        return {str(k): _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v
