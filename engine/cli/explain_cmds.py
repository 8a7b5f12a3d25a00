"""`layerforge explain`: why an image classifier answered as it did for one sample of its
validation or test split: an Integrated Gradients saliency map (``--method ig``), Grad-CAM
at a block (``gradcam``) or a block's feature maps or activation histogram
(``activations``), written as a PNG beside the sample's image (:mod:`engine.explain`, the
same computations as the app's Explain tab)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.terminal import for_terminal

METHODS = ("ig", "gradcam", "activations")
#: pixels per image pixel in the PNG (a 28x28 sample becomes 224x224)
TARGET_SIDE = 224


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="explain an image classifier's answer for one sample: "
                       "saliency, Grad-CAM or a block's activations, as a PNG")
    p.add_argument("run_dir", metavar="RUN")
    p.add_argument("--sample", type=int, required=True, metavar="N",
                   help="the sample's index in the split (0 is the first)")
    p.add_argument("--split", choices=("val", "test"), default="val",
                   help="the split the sample is from (default val)")
    p.add_argument("--method", choices=METHODS, default="ig",
                   help="ig: Integrated Gradients saliency (default); gradcam: Grad-CAM at "
                        "--block; activations: --block's feature maps or histogram")
    p.add_argument("--block", metavar="ID",
                   help="a block id ('conv2' or 'model/conv2'); Grad-CAM's default is the "
                        "last block with feature maps; activations need one")
    p.add_argument("--out", required=True, metavar="PNG", help="the picture to write")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    if args.method == "activations" and not args.block:
        raise UsageError("--method activations needs --block ID (see the block ids with "
                         "`layerforge explain RUN --sample N --method gradcam --json`)")
    if args.sample < 0:
        raise UsageError(f"--sample must be 0 or more, not {args.sample}")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out {out}: the picture is written as PNG; name a .png file")
    from engine import explain
    from engine.explain import overlay as ov
    from engine.train.inference import open_run

    loaded = open_run(args.run_dir)
    explain.check_run(loaded)
    s = explain.sample(loaded, args.sample, args.split)
    pred = explain.predict(loaded, s.x)
    factor = max(1, TARGET_SIDE // max(s.image.shape[:2]))
    pictures = [ov.scaled(ov.rgb(s.image), factor)]
    block = ""
    if args.method == "ig":
        pictures.append(ov.scaled(ov.overlay(s.image, explain.saliency(loaded, s.x)), factor))
    elif args.method == "gradcam":
        heat = explain.grad_cam(loaded, s.x, args.block)
        block = args.block or explain.conv_blocks(loaded)[-1]  # the default grad_cam took
        pictures.append(ov.scaled(ov.overlay(s.image, heat), factor))
    else:
        block = args.block
        values = explain.activations(loaded, s.x, block)
        if values.ndim == 3:
            grid = ov.feature_grid(values)
            pictures.append(ov.scaled(grid, max(1, TARGET_SIDE * 2 // max(grid.shape))))
        else:
            pictures.append(ov.histogram_picture(values))
    ov.row_png(pictures, out)
    classes = list(loaded.bundle.classes or [])
    report: dict[str, Any] = {
        "run": str(args.run_dir), "split": args.split, "sample": s.index,
        "true": _name(classes, s.label), "predicted": _name(classes, pred.label),
        "confidence": round(pred.confidence, 6), "method": args.method,
        "block": f"model/{block.removeprefix('model/')}" if block else "",
        "blocks": explain.conv_blocks(loaded), "out": str(out)}
    if args.json:
        print(json.dumps(report))
        return 0
    where = f" at {report['block']}" if block else ""
    print(for_terminal(f"sample {s.index} of the {args.split} split: true {report['true']}, "
                       f"predicted {report['predicted']} ({pred.confidence:.1%}); "
                       f"{args.method}{where} written to {out}"))
    return 0


def _name(classes: list[str], label: int) -> str:
    return classes[label] if 0 <= label < len(classes) else f"output {label}"
