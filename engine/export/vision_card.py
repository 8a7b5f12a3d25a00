"""The model card's "Task" section for segmentation and detection: what the outputs mean,
the classes in output order, the metric and its values from the run's evaluation."""

from __future__ import annotations

from typing import Any

from engine.export.common import Source

#: the task's metric in words, and its headline figures: (name, evaluation key)
METRICS = {
    "segmentation": "mean intersection over union over the classes (mIoU), with pixel "
                    "accuracy and mean Dice",
    "detection": "COCO mean average precision: mAP@[.5:.95] (averaged over IoU thresholds "
                 "0.5 to 0.95) and mAP@0.5, computed with faster-coco-eval",
}
HEADLINE = {"segmentation": (("mIoU", "miou"), ("pixel accuracy", "pixel_accuracy"),
                             ("mean Dice", "mean_dice")),
            "detection": (("mAP@[.5:.95]", "map"), ("mAP@0.5", "map50"),
                          ("mAP@0.75", "map75"))}
#: per-class figures: (heading, evaluation key)
PER_CLASS = {"segmentation": (("IoU", "iou_per_class"), ("Dice", "dice_per_class")),
             "detection": (("AP@[.5:.95]", "ap_per_class"), ("AP@0.5", "ap50_per_class"))}


def task_section(src: Source, analysis, fmt: str) -> list[str]:
    """Markdown lines of the Task section; empty for the other tasks."""
    from engine.export.card import md_text

    kind = src.project.task.kind
    if kind not in METRICS:
        return []
    classes = (src.data or {}).get("classes")
    title = "semantic segmentation" if kind == "segmentation" else "object detection"
    lines = ["", f"## Task: {title}", ""]
    if classes:
        which = "output channel" if kind == "segmentation" else "label"
        shown = ", ".join(f"{i} {md_text(c, 60)}" for i, c in enumerate(classes[:50]))
        more = f", ... ({len(classes)} in all)" if len(classes) > 50 else ""
        lines.append(f"- Classes ({which} -> class): {shown}{more}")
    else:
        lines.append("- Classes: not recorded (export a training run's folder to name them)")
    lines += _outputs(src, analysis, fmt)
    lines.append(f"- Metric: {METRICS[kind]}.")
    lines += _values(src.metrics, kind, classes)
    while lines[-1] == "":  # the card adds its own blank line before the next section
        lines.pop()
    return lines


def _outputs(src: Source, analysis, fmt: str) -> list[str]:
    from engine.export.card import md_text

    t = src.project.task
    out = analysis.output_specs()[0].shape
    if t.kind == "segmentation":
        return [f"- Output: class scores (logits) [N, {out[0]}, {out[1]}, {out[2]}], one per "
                "class and pixel; the predicted mask is the argmax over dim 1 (the class). "
                f"Mask pixels marked {t.ignore_index} were left out of the training loss and "
                "the metrics."]
    from engine.export.vision import decoder_settings

    d = decoder_settings(src.project, analysis)
    decoded = (f"`boxes` [N, {d['max_detections']}, 4]: (x0, y0, x1, y1) in pixels of the "
               f"model's input image; `scores` [N, {d['max_detections']}]: 0 to 1, best first; "
               f"`labels` [N, {d['max_detections']}]: class indices. A slot with score 0 is "
               f"empty. Decoding keeps at most {d['max_detections']} boxes (task "
               f"max_detections) scoring at least {d['min_score']:g} (min_score), after "
               f"non-maximum suppression of boxes of one class overlapping by IoU more than "
               f"{d['nms_iou']:g} (nms_iou); the stride is {d['stride']} (input pixels per map "
               "cell).")
    maps = (f"[N, {out[0]}, {out[1]}, {out[2]}]: {d['num_classes']} centre heatmap logits "
            "(one per class), then box width and height in map cells, then the centre's "
            "offset in its cell")
    if fmt in ("onnx", "pt2"):
        nms = (" Non-maximum suppression is ONNX's NonMaxSuppression operator inside the graph."
               if fmt == "onnx" else "")
        return [f"- Outputs (the decoder is part of the exported model): {decoded}{nms}",
                f"- Last, `maps`: the network's raw output before decoding, {maps}; the "
                f"metadata key {md_text('`layerforge.task`')} (`decoder`) holds the settings "
                "above, for decoding it yourself."]
    if fmt == "python":
        return [f"- `load_detector()` in model.py returns {decoded} Last, `maps`: the raw "
                "maps they were decoded from.",
                f"- `load()` returns the raw maps {maps}; `decode(maps)` turns them into "
                "boxes, scores and labels as above."]
    return [f"- The weights compute the raw maps {maps}. Decode them with the settings in the "
            f"metadata key {md_text('`layerforge.task`')} (`decoder`), as model.py from "
            f"`layerforge export --format python` does: {decoded}"]


def _values(metrics: dict[str, Any] | None, kind: str, classes) -> list[str]:
    """The evaluation's headline figures and a per-class table, for each split it holds."""
    from engine.export.card import md_text

    lines: list[str] = []
    for split, figures in (metrics or {}).items():
        if not isinstance(figures, dict):
            continue
        shown = [f"{name} {figures[key]:.4f}" for name, key in HEADLINE[kind]
                 if isinstance(figures.get(key), int | float)]
        if not shown:
            continue
        lines.append(f"- {md_text(split)}: {', '.join(shown)}")
        cols = [(h, figures.get(k)) for h, k in PER_CLASS[kind]
                if isinstance(figures.get(k), list)]
        names = figures.get("classes") or classes or []
        rows = max((len(v) for _, v in cols), default=0)
        if not rows:
            continue
        lines += ["", f"| class ({md_text(split)}) | " + " | ".join(h for h, _ in cols) + " |",
                  "|---|" + "---|" * len(cols)]
        for i in range(rows):
            name = md_text(names[i], 60) if i < len(names) else str(i)
            cells = [figure(v[i] if i < len(v) else None) for _, v in cols]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def figure(v: Any) -> str:
    """A per-class figure; a class absent from the split (None, NaN, or COCO's -1) shows
    as a dash."""
    if isinstance(v, int | float) and v == v and v >= 0:
        return f"{v:.4f}"
    return "-"
