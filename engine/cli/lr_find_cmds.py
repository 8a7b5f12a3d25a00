"""``layerforge lr-find``: the learning-rate finder (:mod:`engine.train.lr_find`) on a
project file: the suggested rate and a small text plot of the loss against the rate;
``--json`` prints the whole curve as one JSON object. docs/lr-finder.md is the user's page.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from pathlib import Path

from engine.terminal import for_terminal

#: the text plot's size in characters (the plot area, without its labels)
PLOT_WIDTH, PLOT_HEIGHT = 60, 12


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lr-find", help="find a learning rate: ramp it over a few hundred "
                       "steps on a copy of the model and suggest one (nothing is written)")
    p.add_argument("file", help="the .lforge project")
    p.add_argument("--steps", type=int, default=200, metavar="N",
                   help="optimizer steps of the ramp (default 200)")
    p.add_argument("--start", type=float, default=1e-7, metavar="LR",
                   help="the ramp's first learning rate (default 1e-7)")
    p.add_argument("--end", type=float, default=1.0, metavar="LR",
                   help="the ramp's last learning rate (default 1)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: the rates, the smoothed and raw losses, the "
                        "suggestion and the message")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. training.optimizer=sgd or "
                        "training.batch_size=128")
    p.set_defaults(func=cmd_lr_find)


def cmd_lr_find(args: argparse.Namespace) -> int:
    from engine.cli.train_cmds import check_finetune
    from engine.project import load_project
    from engine.train.lr_find import check_range, lr_find
    from engine.train.overrides import apply_overrides, parse_assignment
    from engine.train.prepare import absolute_data, refuse_untrainable

    check_range(args.steps, args.start, args.end)  # before the project is read
    path = Path(args.file)
    changes = dict(parse_assignment(s) for s in args.set)
    project = apply_overrides(load_project(path), changes)
    absolute_data(project, path.resolve().parent)
    refuse_untrainable(project)
    check_finetune(project, args.file, None)
    live = sys.stderr.isatty()
    stop = {"asked": False}

    def progress(step: int, steps: int, lr: float, loss: float) -> None:
        if live:
            sys.stderr.write(f"\rstep {step}/{steps}  lr {lr:.3g}  loss {loss:.4f}   ")
            sys.stderr.flush()

    def ask_stop(*_args: object) -> None:
        stop["asked"] = True

    old = signal.signal(signal.SIGINT, ask_stop)  # Ctrl-C: show what was measured
    try:
        result = lr_find(project, steps=args.steps, start=args.start, end=args.end,
                         progress=progress, should_stop=lambda: stop["asked"])
    finally:
        signal.signal(signal.SIGINT, old)
        if live:
            sys.stderr.write("\r" + " " * 60 + "\r")
    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    print(for_terminal(result.message))
    if result.lrs:
        print()
        for line in text_plot(result.lrs, result.losses, result.suggestion):
            print(line)
    return 0


def text_plot(lrs: list[float], losses: list[float], mark: float | None,
              width: int = PLOT_WIDTH, height: int = PLOT_HEIGHT) -> list[str]:
    """The smoothed loss against the rate (log scale) in characters: a ``*`` per column
    (the mean of the points falling in it), the suggested rate as a column of ``|``, the
    loss at the top and bottom rows and three rates under the axis."""
    pts = [(math.log10(lr), v) for lr, v in zip(lrs, losses, strict=True) if math.isfinite(v)]
    if not pts:
        return []
    x0, x1 = pts[0][0], pts[-1][0]
    lo, hi = min(v for _, v in pts), max(v for _, v in pts)
    span_x, span_y = (x1 - x0) or 1.0, (hi - lo) or 1.0

    def col(x: float) -> int:
        return min(width - 1, int((x - x0) / span_x * (width - 1) + 0.5))

    columns: dict[int, list[float]] = {}
    for x, v in pts:
        columns.setdefault(col(x), []).append(v)
    grid = [[" "] * width for _ in range(height)]
    if mark is not None and mark > 0:
        c = col(math.log10(mark))
        for row in grid:
            row[c] = "|"
    for c, vs in columns.items():
        r = int((hi - sum(vs) / len(vs)) / span_y * (height - 1) + 0.5)
        grid[r][c] = "*"
    label_w = max(len(f"{hi:.4g}"), len(f"{lo:.4g}"))
    lines = []
    for r, row in enumerate(grid):
        label = f"{hi:.4g}" if r == 0 else f"{lo:.4g}" if r == height - 1 else ""
        lines.append(f"{label.rjust(label_w)} {''.join(row)}")
    lines.append(" " * label_w + " " + "-" * width)
    left, mid, right = (f"{10 ** x:.3g}" for x in (x0, (x0 + x1) / 2, x1))
    axis = [" "] * width
    for text, at in ((left, 0), (mid, (width - len(mid)) // 2), (right, width - len(right))):
        axis[at:at + len(text)] = text
    lines.append(" " * label_w + " " + "".join(axis) + "  (learning rate, log scale)")
    if mark is not None:
        lines.append(" " * label_w + f" | suggested {mark:.3g}")
    return lines
