"""What the vision tasks add to an export.

Segmentation exports the logits graph unchanged ([N, K, H, W], one score per class and
pixel); its ONNX check adds that the argmax masks of onnxruntime and PyTorch are equal.
Detection exports the graph followed by its decoder (``engine.vision.decode``): the
exported model (ONNX, pt2, model.py's ``load_detector``) returns ``boxes`` [N, D, 4] in
input pixels, ``scores`` [N, D] and ``labels`` [N, D] (class indices), so a user needs no
LayerForge code to read it, and then ``maps``, the network's raw output [N, K + 4, h, w].
The decoding settings come from the project's task (``max_detections`` = D, ``min_score``,
``nms_iou``), the stride from the shapes (input size / feature map size).

A detector's ONNX check has two parts, so that float rounding cannot fail a correct
export: the network (onnxruntime's ``maps`` against PyTorch's, element-wise within the
tolerance), then the decoder (PyTorch's decoder run on onnxruntime's own ``maps`` must give
onnxruntime's boxes, scores and labels). Comparing decoded boxes of the two runtimes
directly is not rigorous: where two neighbouring heatmap cells differ by ~1e-8 (an untrained
model, flat background), rounding makes a cell a peak in one runtime and not the other.
"""

from __future__ import annotations

import json
from typing import Any

from engine.export.common import ExportError

META_TASK = "layerforge.task"
#: the names of a detector's exported outputs, in the order DetectorWithDecoder returns them
DETECTION_OUTPUTS = ("boxes", "scores", "labels", "maps")
#: how closely PyTorch's decoder, run on onnxruntime's maps, must give onnxruntime's boxes
#: and scores (the same maps: only the runtimes' arithmetic differs)
DECODER_TOLERANCE = 1e-4
#: what a detector's model.py copies from engine.vision.decode, in order: the decoder the
#: ONNX export runs, so the generated code decodes boxes the same way
DECODE_PARTS = ("box_iou", "greedy_nms", "Decoder", "DetectorWithDecoder")


def detection_stride(analysis) -> int:
    """Input size / feature map size of a detector graph ([C, H, W] -> [K+4, H/s, W/s]), by
    the rule training uses; ExportError when there is no one whole-number stride."""
    from engine.errors import UserError
    from engine.tasks.detection import stride_of

    ins, outs = analysis.input_specs(), analysis.output_specs()
    shapes = [list(s.shape) for s in (*ins, *outs)]
    if len(ins) != 1 or len(outs) != 1 or any(len(s) != 3 or None in s for s in shapes):
        raise ExportError("a detection graph must take one image [C, H, W] and return one map "
                          "[classes + 4, H/s, W/s]; this one takes "
                          f"{', '.join(str(list(s.shape)) for s in ins)} and returns "
                          f"{', '.join(str(list(s.shape)) for s in outs)}")
    (inp,), (out,) = ins, outs
    try:
        return stride_of(tuple(inp.shape), tuple(out.shape))
    except UserError as e:
        raise ExportError(f"cannot export the detector: {e}") from None


def decoder_settings(project, analysis) -> dict[str, Any]:
    """The keyword arguments of ``engine.vision.decode.Decoder`` for this project's graph."""
    stride = detection_stride(analysis)
    channels = int(analysis.output_specs()[0].shape[0])
    if channels < 5:
        raise ExportError(f"a detection graph returns classes + 4 channels; this one returns "
                          f"{channels}: end it with a DetectionHead")
    t = project.task
    return {"num_classes": channels - 4, "stride": stride,
            "max_detections": t.max_detections, "min_score": t.min_score,
            "nms_iou": t.nms_iou}


def export_module(kind: str, module, project, analysis) -> tuple[Any, list[str] | None]:
    """The module a format exports and its output names (None: the graph's own). For
    detection: the graph with its decoder, returning boxes, scores, labels, maps."""
    if kind != "detection":
        return module, None
    from engine.vision.decode import DetectorWithDecoder
    from engine.vision.onnx_nms import ExportDecoder

    # ExportDecoder: the Decoder, with ONNX's NonMaxSuppression in an ONNX export
    wrapped = DetectorWithDecoder(module, ExportDecoder(**decoder_settings(project, analysis)))
    return wrapped.eval(), list(DETECTION_OUTPUTS)


def task_info(project, analysis, data: dict[str, Any] | None) -> dict[str, Any]:
    """Plain JSON naming the task, its classes (when the run recorded them) and, for
    detection, how the outputs were decoded."""
    kind = project.task.kind
    info: dict[str, Any] = {"kind": kind, "classes": (data or {}).get("classes")}
    if kind == "segmentation":
        info["ignore_index"] = project.task.ignore_index
        info["outputs"] = "logits [N, classes, H, W]; mask = argmax over dim 1"
    elif kind == "detection":
        info["decoder"] = decoder_settings(project, analysis)
    return info


def task_metadata(project, analysis, data: dict[str, Any] | None) -> dict[str, str]:
    """``layerforge.task`` for the safetensors and ONNX metadata (vision tasks only)."""
    if project.task.kind not in ("segmentation", "detection"):
        return {}
    return {META_TASK: json.dumps(task_info(project, analysis, data), ensure_ascii=False)}


# -- checks of the ONNX model against PyTorch ---------------------------------------------


def compare_masks(refs, gots, label: str, tol: float) -> int:
    """Require the argmax masks of ``refs`` (PyTorch logits [N, K, H, W]) and ``gots``
    (onnxruntime's) to be equal. A pixel whose two best classes are within ``tol`` of
    each other in PyTorch is a tie that float rounding may break either way: such pixels
    are left out (there are none in a trained model; rare on random inputs). Returns the
    number of pixels compared."""
    import numpy as np

    ref, got = refs[0], gots[0]
    top2 = np.sort(ref, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > tol
    differ = (ref.argmax(1) != got.argmax(1)) & clear
    if differ.any():
        raise ExportError(f"the ONNX model's masks differ from PyTorch's at {int(differ.sum())} "
                          f"pixel(s) on {label}")
    return int(clear.sum())


def compare_detections(refs, gots, label: str, tol: float, min_score: float) -> float:
    """Require onnxruntime's detections ``gots`` to be the reference ``refs`` (PyTorch's
    decoder on the same maps) within ``tol`` (boxes and scores; labels equal), each
    (boxes, scores, labels) as numpy arrays. Slots are matched as sets per image: two
    detections whose scores tie within float rounding may come out in either order. A detection is allowed
    on one side only if its score is within ``tol`` of a cut (``min_score``, or the lowest
    score kept when all D slots are full), where rounding decides whether it is kept.
    Returns the largest difference of matched boxes and scores."""
    import numpy as np

    (rb, rs, rl), (gb, gs, gl) = refs, gots
    worst = 0.0
    for i in range(rb.shape[0]):
        ref = [(rs[i, j], rl[i, j], rb[i, j]) for j in range(rs.shape[1]) if rs[i, j] > 0]
        got = [(gs[i, j], gl[i, j], gb[i, j]) for j in range(gs.shape[1]) if gs[i, j] > 0]
        cuts = [min_score]
        for side in (ref, got):
            if len(side) == rs.shape[1]:
                cuts.append(min(s for s, _, _ in side))
        left = list(range(len(ref)))
        unmatched = []
        for s, lab, box in got:
            hit = next((k for k in left if ref[k][1] == lab and abs(ref[k][0] - s) <= tol
                        and np.abs(ref[k][2] - box).max() <= tol), None)
            if hit is None:
                unmatched.append(s)
                continue
            left.remove(hit)
            worst = max(worst, float(abs(ref[hit][0] - s)),
                        float(np.abs(ref[hit][2].astype(np.float64) - box).max()))
        unmatched += [ref[k][0] for k in left]
        odd = [s for s in unmatched if min(abs(s - c) for c in cuts) > tol]
        if odd:
            raise ExportError(f"the ONNX model's detections differ from PyTorch's on {label} "
                              f"(image {i}: {len(odd)} box(es) not found within {tol:g})")
    return worst


class OnnxCheck:
    """The comparison ``verify_onnx`` makes for a vision task, and the sentence saying what
    it found (for the report and the model card)."""

    def __init__(self, kind: str, project, atol: float, rtol: float) -> None:
        self.kind, self.atol, self.rtol = kind, atol, rtol
        self.min_score = project.task.min_score
        self.pixels = 0
        self.boxes = 0

    def __call__(self, refs, gots, label: str, module=None) -> float:
        from engine.export.onnx_export import compare_close, tolerance_for

        if self.kind == "segmentation":
            worst = compare_close(refs, gots, label, self.atol, self.rtol)
            scale = float(abs(refs[0]).max()) if refs[0].size else 0.0
            self.pixels += compare_masks(refs, gots, label,
                                         tolerance_for(scale, self.atol, self.rtol))
            return worst
        # (a) the network: the raw maps, element-wise
        worst = compare_close(refs[3:], gots[3:], f"{label} (maps)", self.atol, self.rtol)
        # (b) the decoder: PyTorch's, eager, on onnxruntime's own maps
        decoded = decode_maps(module.decoder, gots[3])
        compare_detections(decoded, gots[:3], f"{label} (decoding onnxruntime's maps)",
                           DECODER_TOLERANCE, self.min_score)
        self.boxes += int((gots[1] > 0).sum())
        return worst

    def summary(self) -> str:
        if self.kind == "segmentation":
            return f"argmax masks equal to PyTorch's ({self.pixels:,} pixels compared)"
        return (f"maps within the tolerance of PyTorch's; PyTorch's decoder on onnxruntime's "
                f"maps gives its boxes and scores within {DECODER_TOLERANCE:g}, labels equal "
                f"({self.boxes:,} detections compared)")


def decode_maps(decoder, maps) -> list:
    """(boxes, scores, labels) as numpy arrays: ``decoder`` (a Decoder, run eagerly: its own
    greedy NMS) on ``maps`` (numpy)."""
    import torch

    with torch.no_grad():
        return [t.numpy() for t in decoder(torch.tensor(maps))]


def onnx_check(kind: str, project, atol: float, rtol: float) -> OnnxCheck | None:
    """The vision task's ONNX comparison, None for the other tasks (element-wise)."""
    return OnnxCheck(kind, project, atol, rtol) if kind in ("segmentation", "detection") \
        else None


# -- model.py for a detector ---------------------------------------------------------------

DECODER_USAGE = [
    "",
    "    # a detector: boxes [N, D, 4] in input pixels (x0, y0, x1, y1), scores [N, D],",
    "    # labels [N, D] (class indices; CLASSES names them; empty slots score 0) and the",
    "    # raw maps [N, classes + 4, h, w] they were decoded from",
    "    from model import load_detector",
    "    boxes, scores, labels, maps = load_detector()(preprocess(x))",
]


def decoder_code(settings: dict[str, Any], literal) -> list[str]:
    """Lines of model.py after ``load()``: the decoder the ONNX export runs, copied from
    engine.vision.decode (torch only), ``DECODER`` (its settings), ``decode(maps)`` and
    ``load_detector()``. ``literal`` writes a Python literal (the code generator's)."""
    import inspect

    from engine.vision import decode

    values = ", ".join(f"{k!r}: {literal(v)}" for k, v in settings.items())
    lines = ["", "",
             "# How boxes are read from the maps: the project's decoding settings (task",
             "# max_detections, min_score, nms_iou) and the stride (input size / map size).",
             f"DECODER = {{{values}}}", ""]
    for name in DECODE_PARTS:
        lines += ["", inspect.getsource(getattr(decode, name)).rstrip(), ""]
    lines += [
        "",
        "def decode(maps):",
        '    """(boxes [N, D, 4] in input pixels, scores [N, D], labels [N, D]) from the',
        '    model\'s maps [N, classes + 4, h, w], best first; empty slots score 0."""',
        "    with torch.no_grad():",
        "        return Decoder(**DECODER).to(maps.device)(maps)",
        "",
        "",
        'def load_detector(path=None, device="cpu"):',
        '    """load() followed by the decoder: images in, (boxes, scores, labels, maps) out',
        '    (maps: load()\'s own output)."""',
        "    net = DetectorWithDecoder(load(path, device), Decoder(**DECODER))",
        "    return net.to(device).eval()",
        "",
    ]
    return lines
