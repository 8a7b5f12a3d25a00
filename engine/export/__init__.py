"""Export a trained (or untrained) graph, and import a PyTorch module as a graph.

One API for the CLI and the app's Export dialog. Nothing here prints: :func:`export`
returns an :class:`ExportReport` with the files written, verification figures and messages.
Every export writes into a temporary folder next to the destination, verifies, and only then
moves the files into place, so a failure never leaves partial files behind.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from engine.export.common import ExportError, ExportReport, Progress, Source, load_source
from engine.export.onnx_export import DEFAULT_OPSET, onnx_problems
from engine.export.weights import load_model

FORMATS = ("onnx", "onnx-int8", "safetensors", "python", "pt2", "server")
#: calibration samples an int8 export draws from the run's training data unless told
DEFAULT_CALIBRATION = 256
_SAFE_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
SUFFIX = {"onnx": ".onnx", "onnx-int8": ".onnx", "safetensors": ".safetensors", "pt2": ".pt2"}

__all__ = ["DEFAULT_CALIBRATION", "DEFAULT_OPSET", "FORMATS", "ExportError", "ExportReport", "export",
           "import_module", "load_model", "load_source", "onnx_problems"]


def _destination(fmt: str, out: Path, graph_name: str) -> tuple[Path, str, str]:
    """(folder, main file name, model card name). ``out`` is a folder, or for the
    single-file formats a file with the format's suffix."""
    if fmt == "python":
        if out.suffix == ".py":
            raise ExportError(f"{out}: the python export writes a folder (model.py, "
                              "weights.safetensors, README.md); give a folder")
        return out, "model.py", "README.md"
    if out.suffix == SUFFIX[fmt]:
        return out.parent, out.name, f"{out.stem}.README.md"
    if out.suffix in SUFFIX.values():
        raise ExportError(f"{out}: a {fmt} export ends in {SUFFIX[fmt]}, not {out.suffix}")
    return out, f"{graph_name}{SUFFIX[fmt]}", "README.md"


def export(source: str | os.PathLike[str] | Source, fmt: str, out: str | os.PathLike[str], *,
           graph: str | None = None, opset: int = DEFAULT_OPSET, atol: float = 1e-4,
           rtol: float = 1e-4, progress: Progress = None,
           calibration: int = DEFAULT_CALIBRATION, int8: bool = False) -> ExportReport:
    """Export one graph of a run folder (trained weights) or project file (untrained).

    ``fmt`` is one of :data:`FORMATS`. ``out`` is a folder (created with any missing parent
    folders) or, for onnx/safetensors/pt2, a file path with that suffix. A run's input
    preparation (data.json: normalisation mean/std, class names) goes into every format's
    metadata and the model card. ONNX exports are
    verified with onnx.checker and onnxruntime; a difference from PyTorch above
    ``atol + rtol * max|output|`` fails the export. Raises :class:`ExportError` with a
    message for the user; nothing is left on disk then.

    The vision tasks (see :mod:`engine.export.vision`): a segmentation ONNX export must
    also give PyTorch's argmax masks; a detector is exported with its decoder (ONNX, pt2,
    and model.py's ``load_detector``), returning boxes, scores, labels and the raw maps;
    the check compares the maps with PyTorch's, then decodes onnxruntime's maps in PyTorch
    and requires its boxes (within 1e-4) and labels. Their metadata names the task
    (``layerforge.task``).

    Text and sound (see :mod:`engine.export.text`): a run with a tokenizer writes
    ``tokenizer.json`` (and ``target_tokenizer.json``) beside the model in every format;
    its ONNX export is also run in a fresh Python process (onnxruntime, numpy, tokenizers
    only) on texts or clips and must match PyTorch. A seq2seq run's ONNX export (no
    ``graph``) writes ``encoder.onnx`` and ``decoder.onnx``, and greedy decoding in the
    fresh process must give PyTorch's texts.

    Deployment (see :mod:`engine.deploy`): ``onnx-int8`` quantizes the verified ONNX model
    with ONNX Runtime (static, per-channel weights, ``calibration`` samples of the run's
    training data) and reports the blocks flagged, a per-block sensitivity table and
    fp32/int8 size, metric and latency (``report.details``); ``server`` writes a folder
    that serves the model over HTTP without LayerForge (the ONNX model, fp32 or with
    ``int8`` quantized, its preprocessing, the server, pinned requirements, a Dockerfile).
    """
    import torch

    from engine import naming
    from engine.export import card, pycode, vision
    from engine.export.common import (
        build_module,
        missing_data_warning,
        staged,
        untrained_warning,
    )
    from engine.export.preprocessing import metadata
    from engine.export.text import fresh_check, write_tokenizers
    from engine.export.weights import write_weights
    from engine.shapes import analyze_graph

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "onnx-int8":
        from engine.deploy.quantize import export_int8

        return export_int8(source, Path(out), graph=graph, opset=opset,
                           calibration=calibration, progress=progress)
    if fmt == "server":
        from engine.deploy.bundle import export_server

        return export_server(source, Path(out), graph=graph, opset=opset, int8=int8,
                             calibration=calibration, progress=progress)
    if fmt == "onnx" and graph is None and not isinstance(source, Source):
        from engine.export.text import export_seq2seq_onnx, seq2seq_sources

        pair = seq2seq_sources(source)  # a seq2seq run: both graphs, two files
        if pair is not None:
            return export_seq2seq_onnx(*pair, Path(out), opset=opset, atol=atol, rtol=rtol,
                                       progress=progress)
    src = source if isinstance(source, Source) else load_source(source, graph)
    report = ExportReport(fmt, src.graph_name, trained=src.trained)
    if not src.trained:
        report.warnings.append(untrained_warning(src))
    elif src.data is None:
        report.warnings.append(missing_data_warning(src))
    analysis = analyze_graph(src.graph, src.graph_name, src.project.graphs)
    kind = src.project.task.kind
    task_meta = vision.task_metadata(src.project, analysis, src.data)
    meta = {**metadata(src.data), **task_meta}
    module = build_module(src)
    # what ONNX and pt2 export: the graph, or for detection the graph with its decoder
    exported, output_names = vision.export_module(kind, module, src.project, analysis)
    stem = src.graph_name if _SAFE_STEM.match(src.graph_name) else naming.make_identifier(
        src.graph_name)
    folder, main, card_name = _destination(fmt, Path(out), stem)
    files: dict[str, str] = {}
    with staged(folder) as stage, torch.no_grad():
        beside = write_tokenizers(stage, src.data)  # every format takes the same text
        if fmt == "onnx":
            from engine.export.onnx_export import verify_onnx, write_onnx

            report.opset, report.tolerance = opset, atol
            write_onnx(stage.path(main), exported, analysis, src.graph, opset, progress,
                       src.graph_name, meta, output_names)
            check = vision.onnx_check(kind, src.project, atol, rtol)
            report.max_abs_diff = verify_onnx(stage.tmp / main, exported, analysis, atol, rtol,
                                              progress, check)
            if check is not None:
                report.checks.append(check.summary())
            fresh = fresh_check(src)  # text and sound: the folder run as its user will
            if fresh is not None:
                report.checks.append(fresh(stage.tmp, main, exported, analysis, src, atol,
                                           rtol, progress))
            files[main] = f"ONNX model (opset {opset}, dynamic batch), one file"
        elif fmt == "safetensors":
            write_weights(stage.path(main), module, src.graph, src.graph_name, analysis,
                          src.trained, src.data, src.project.graphs, task_meta)
            report.max_abs_diff = _check_reload(stage.tmp / main, module, analysis)
            files[main] = "weights, with the graph in the metadata"
        elif fmt == "python":
            decoder = vision.decoder_settings(src.project, analysis) \
                if kind == "detection" else None
            code = pycode.generate(module, src.graph_name, analysis, data=src.data,
                                   decoder=decoder)
            stage.path(main).write_text(code, encoding="utf-8")
            write_weights(stage.path(pycode.WEIGHTS_NAME), module, src.graph, src.graph_name,
                          analysis, src.trained, src.data, src.project.graphs, task_meta)
            if progress:
                progress("checking model.py in a fresh Python process")
            pycode.verify_in_subprocess(stage.tmp / main, stage.tmp / ".check.safetensors",
                                        module, analysis)
            if decoder is not None:
                pycode.verify_in_subprocess(stage.tmp / main, stage.tmp / ".check.safetensors",
                                            exported, analysis, loader="load_detector")
                report.checks.append("model.py's load_detector() decodes the same boxes, "
                                     "scores and labels")
            files[main] = "standalone PyTorch code (torch only)"
            files[pycode.WEIGHTS_NAME] = "weights for model.py (safetensors)"
        else:
            from engine.export.pt2 import CAVEAT, write_pt2

            report.max_abs_diff = write_pt2(stage.path(main), exported, analysis, progress,
                                            src.graph_name, meta)
            files[main] = "torch.export program"
            report.warnings.append(CAVEAT.format(version=torch.__version__))
        files.update(beside)
        text = card.model_card(src, analysis, fmt, files, report)
        stage.path(card_name).write_text(text, encoding="utf-8")
        report.files = [stage.final(n) for n in stage.names]
    report.messages.append(f"exported graph {src.graph_name} as {fmt} to "
                           f"{', '.join(str(f) for f in report.files)}")
    if report.opset is not None:
        report.messages.append(f"ONNX opset {report.opset}")
    if report.max_abs_diff:
        diffs = ", ".join(f"{k}: {v:.2g}" for k, v in report.max_abs_diff.items())
        report.messages.append(f"verified: max absolute difference from PyTorch {diffs}")
    report.messages += [f"verified: {c}" for c in report.checks]
    return report


def _check_reload(path: Path, module, analysis) -> dict[str, float]:
    """Rebuild the model from the written file and compare it with ``module``."""
    import torch

    from engine.compile import example_inputs

    rebuilt = load_model(path)
    xs = example_inputs(analysis, batch=2, var_len=5)
    ref, got = module(*xs), rebuilt(*xs)
    refs = ref if isinstance(ref, tuple) else (ref,)
    gots = got if isinstance(got, tuple) else (got,)
    if not all(torch.equal(r, g) for r, g in zip(refs, gots, strict=True)):
        raise ExportError(f"{path.name}: the model rebuilt from the file does not reproduce "
                          "the original outputs")
    return {"batch 2": 0.0}


def import_module(*args, **kwargs):
    """Trace an nn.Module into an editable graph; see :mod:`engine.export.importer`."""
    from engine.export.importer import import_module as _import

    return _import(*args, **kwargs)
