"""``export --format onnx-int8``: the verified fp32 ONNX export, quantized with ONNX
Runtime's static quantization, with what a user needs to trust it: the blocks flagged
before quantizing, a per-block sensitivity table, and fp32/int8 size, metric and latency
measured at export (``report.details`` and the model card).

The format is QOperator with int8 per-channel weights (in 7 bits) and uint8 activations
calibrated (MinMax) on samples of the run's training split; docs/decisions/0012-int8-format.md
says why. Ranges are calibrated once and cached: the sensitivity table quantizes the model
once per block from the same ranges.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from engine.deploy import calibration as data
from engine.deploy import measure
from engine.export.common import ExportError, ExportReport, Progress, Source, load_source
from engine.export.onnx_export import DEFAULT_OPSET

FORMAT = "QOperator"
META_QUANTIZATION = "layerforge.quantization"
#: at most this many blocks get a sensitivity row (one quantization and evaluation each)
MAX_SENSITIVITY_BLOCKS = 32
_DROPPED_PROPS = ("onnx.quant.pre_process",)  # the quantizer's own marker


def quantize_file(fp32: Path, int8: Path, calibration_feeds: list[dict], nodes=None, *,
                  cache: Path | None = None) -> None:
    """Quantize the ONNX model ``fp32`` into ``int8`` (QOperator, per-channel int8 weights
    in 7 bits (``reduce_range``: x86 CPUs without VNNI would saturate full-range ones),
    uint8 activations, MinMax ranges from ``calibration_feeds``: onnxruntime feeds).
    ``nodes``: quantize only these node names (None: all). ``cache``: a calibration cache
    file, written on the first call and read on the next ones (same ranges, no second
    calibration). ExportError when ONNX Runtime refuses the model."""
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    if nodes is not None and not nodes:
        raise ValueError("nodes: give at least one node name, or None for all")
    try:
        with _quiet():
            quantize_static(
                str(fp32), str(int8), _Reader(calibration_feeds),
                quant_format=QuantFormat.QOperator, per_channel=True, reduce_range=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                nodes_to_quantize=list(nodes) if nodes else None,
                calibrate_method=CalibrationMethod.MinMax,
                # ranges computed per feed and merged, so the activations of one feed at a
                # time are in memory (CalibMaxIntermediateOutputs drops data in ORT 1.32)
                extra_options={"CalibStridedMinMax": 1},
                calibration_cache_path=None if cache is None else str(cache))
    except OSError:
        raise
    except Exception as e:  # onnxruntime raises many types; the first line says why
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ExportError(f"ONNX Runtime could not quantize the model: {reason}") from None


class _Reader:
    """onnxruntime's CalibrationDataReader over a list of feeds (re-readable)."""

    def __init__(self, feeds: list[dict]) -> None:
        self.feeds = feeds
        self._it: Iterator[dict] = iter(feeds)

    def get_next(self) -> dict | None:
        return next(self._it, None)

    def __len__(self) -> int:
        return len(self.feeds)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._it = iter(self.feeds[start_index:end_index])


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The quantizer logs advice through the root logger; an export prints nothing."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def export_int8(source, out: Path, *, graph: str | None = None, opset: int = DEFAULT_OPSET,
                calibration: int = 256, progress: Progress = None) -> ExportReport:
    """Export a trained run's graph as an int8 ONNX model (see the module docstring).

    ``out``: a folder (``<graph>.int8.onnx`` and ``README.md``) or a path ending in
    ``.onnx`` (that file and ``<stem>.README.md``). Nothing is written unless every step
    succeeds. ExportError for a project file (untrained), a run whose data cannot be
    loaded, or a task kind other than those in :data:`measure.METRICS`.
    """
    from engine.deploy.int8_card import card_lines, summarise
    from engine.export.common import staged

    if not isinstance(source, Source):
        _check_kind(_project_kind(Path(source)), Path(source))  # before choosing a graph
    src = source if isinstance(source, Source) else load_source(source, graph)
    kind = src.project.task.kind
    _check_kind(kind, src.origin)
    if calibration < 1:
        raise ExportError("the int8 export needs at least 1 calibration sample")
    destination(Path(out), src.graph_name)  # a wrong suffix fails before any work
    bundle = data.load_bundle(src)
    report = ExportReport("onnx-int8", src.graph_name, trained=True, opset=opset)
    with tempfile.TemporaryDirectory(prefix="layerforge-int8-") as tmp:
        work = Path(tmp)
        fp32, fp32_report = _fp32(src, work, opset, progress)
        folder, main, card_name = destination(Path(out), fp32.stem)
        evalset = data.evaluation_set(bundle)
        fp32_model = _check_input(fp32, bundle, src)
        name = fp32_model.graph.input[0].name
        feeds = data.calibration_feeds(bundle, name, calibration, src.project.training.seed)
        count = sum(next(iter(f.values())).shape[0] for f in feeds)
        prepared = _prepare(fp32, work / "prepared.onnx")
        owners, model = _owners(prepared, fp32_model, src)
        if progress:
            progress("flagging the blocks that will not quantize or may quantize badly")
        from engine.deploy.int8_blocks import activation_spreads, flag_blocks

        report.details["flags"] = flag_blocks(model, owners,
                                              activation_spreads(model, owners, feeds))
        with staged(folder) as stage:
            if progress:
                progress(f"quantizing to int8 (calibrating on {count} training samples)")
            target = stage.path(main)
            cache = work / "calibration.json"
            quantize_file(prepared, target, feeds, cache=cache)
            _finish(target, fp32_model, count)
            _verify(target, evalset)
            score = _scorer(src, bundle)
            report.details["sensitivity"] = _sensitivity(
                prepared, model, owners, feeds, cache, evalset, score, work, kind, progress)
            report.details["comparison"] = _comparison(fp32, target, evalset, score, kind,
                                                       progress)
            summarise(report, fp32_report, evalset, count)
            beside = _copy_beside(fp32_report, stage)
            text = _card(src, main, beside, report, card_lines(report, count, evalset))
            stage.path(card_name).write_text(text, encoding="utf-8")
            report.files = [stage.final(n) for n in stage.names]
    report.messages.insert(0, f"exported graph {src.graph_name} as onnx-int8 to "
                              f"{', '.join(str(f) for f in report.files)}")
    return report


def _project_kind(path: Path) -> str | None:
    """The task kind of a run folder's or project file's project; None when it cannot be
    read (load_source then says why)."""
    from engine.export.common import RUN_PROJECT
    from engine.project import ProjectError, load_project

    try:
        return load_project(path / RUN_PROJECT if path.is_dir() else path).task.kind
    except (ProjectError, OSError, ValueError):
        return None


def _check_kind(kind: str | None, origin: Path) -> None:
    if kind is not None and kind not in measure.METRICS:
        raise ExportError(
            f"{origin}: the int8 export covers classification (images, vectors, text, "
            f"sound), regression and segmentation models; this is a {kind} model. Export it "
            "as float32 with --format onnx.")


def destination(out: Path, stem: str) -> tuple[Path, str, str]:
    """(folder, model file name, card name) for ``out``: a folder or a ``.onnx`` path;
    ``stem``: the fp32 export's file name without .onnx (the graph's name)."""
    if out.suffix == ".onnx":
        return out.parent, out.name, f"{out.stem}.README.md"
    if out.suffix in (".safetensors", ".pt2", ".py"):
        raise ExportError(f"{out}: an onnx-int8 export ends in .onnx, not {out.suffix}")
    return out, f"{stem}.int8.onnx", "README.md"


def _fp32(src: Source, work: Path, opset: int, progress: Progress) -> tuple[Path, ExportReport]:
    """The verified fp32 ONNX export, in ``work``."""
    from engine.export import export

    report = export(src, "onnx", work / "fp32", opset=opset, progress=progress)
    model = next(p for p in report.files if p.suffix == ".onnx")
    return model, report


def _check_input(fp32: Path, bundle, src: Source):
    """The fp32 model (onnx.ModelProto), after checking it takes the data as it comes."""
    import onnx

    model = onnx.load(str(fp32))
    if len(model.graph.input) != 1:
        raise ExportError(f"the graph {src.graph_name!r} has {len(model.graph.input)} inputs; "
                          "the int8 export takes graphs with one input")
    dims = [d.dim_value or None for d in model.graph.input[0].type.tensor_type.shape.dim][1:]
    shape = list(bundle.input_shape)
    if len(dims) != len(shape) or any(d is not None and d != s for d, s in zip(dims, shape,
                                                                                 strict=False)):
        raise ExportError(f"{src.origin}: the graph takes inputs of shape {dims} but the run's "
                          f"data gives {shape}; the project was changed after training")
    return model


def _prepare(fp32: Path, out: Path) -> Path:
    """ONNX Runtime's pre-processing (shape inference, graph fusions) that quantization
    expects; the plain model when it fails (some ops defeat symbolic shape inference)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        with _quiet(), contextlib.redirect_stdout(None):
            quant_pre_process(str(fp32), str(out))
    except Exception:  # noqa: BLE001 - an optional optimisation
        try:
            with _quiet():
                quant_pre_process(str(fp32), str(out), skip_symbolic_shape=True)
        except Exception:  # noqa: BLE001
            shutil.copyfile(fp32, out)
    return out


def _owners(prepared: Path, fp32_model, src: Source):
    """(ONNX node name -> block label, the prepared model)."""
    import onnx

    from engine.deploy.int8_blocks import node_blocks
    from engine.shapes import analyze_graph

    model = onnx.load(str(prepared))
    analysis = analyze_graph(src.graph, src.graph_name, src.project.graphs)
    return node_blocks(model, analysis.structure, fp32_model), model


def _finish(path: Path, fp32_model, count: int) -> None:
    """Strip the exporter's debug metadata (the nodes' stack traces and paths, the graph's
    ``pkg.torch.export`` signature, which names parameters folded away) and keep
    the fp32 model's metadata_props (preprocessing, classes, task), adding how it was
    quantized."""
    import onnx

    model = onnx.load(str(path))
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    for value in [*model.graph.input, *model.graph.output]:
        del value.metadata_props[:]
    del model.graph.metadata_props[:]
    del model.graph.value_info[:]  # onnxruntime infers the shapes again at load
    # the pre-processing optimizer declares every domain it knows; keep those in use
    used = {node.domain for node in model.graph.node} | {""}
    kept = [o for o in model.opset_import if o.domain in used]
    del model.opset_import[:]
    model.opset_import.extend(kept)
    props = {p.key: p.value for p in fp32_model.metadata_props}
    props[META_QUANTIZATION] = json.dumps({
        "format": FORMAT, "weights": "int8", "per_channel": True, "weight_bits": 7,
        "activations": "uint8",
        "calibration": count, "calibration_split": "train", "method": "MinMax",
        "runtime": "onnxruntime"})
    for key in _DROPPED_PROPS:
        props.pop(key, None)
    onnx.helper.set_model_props(model, props)
    onnx.save(model, str(path))


def _verify(path: Path, evalset) -> None:
    """onnx.checker and one onnxruntime run on validation samples."""
    import onnx

    try:
        onnx.checker.check_model(str(path))
        sess = measure.session(path)
        sess.run(None, {sess.get_inputs()[0].name: evalset.x[:2]})
    except Exception as e:  # noqa: BLE001 - whatever fails, the file is not kept
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ExportError(f"the quantized model does not load or run in ONNX Runtime: "
                          f"{reason}") from None


def _scorer(src: Source, bundle):
    kind = src.project.task.kind
    ignore = getattr(src.project.task, "ignore_index", 255)

    def score(path: Path, evalset) -> float:
        return measure.metric(measure.session(path), evalset, kind,
                              classes=bundle.num_classes, ignore_index=ignore)

    return score


def _sensitivity(prepared: Path, model, owners, feeds, cache: Path, evalset, score, work: Path,
                 kind: str, progress: Progress) -> list[dict]:
    """The metric with only one block quantized, for each block that computes in int8."""
    from engine.deploy.int8_blocks import sensitive_blocks

    blocks = sensitive_blocks(model, owners)
    subset = evalset.head(data.SENSITIVITY_SAMPLES)
    base = score(prepared, subset)
    rows = []
    for i, (label, nodes) in enumerate(list(blocks.items())[:MAX_SENSITIVITY_BLOCKS]):
        if progress:
            progress(f"sensitivity {i + 1}/{min(len(blocks), MAX_SENSITIVITY_BLOCKS)}: "
                     f"only {label} quantized")
        one = work / "one-block.onnx"
        quantize_file(prepared, one, feeds, nodes, cache=cache)
        value = score(one, subset)
        rows.append({"block": label, "metric": measure.METRICS[kind], "value": value,
                     "delta": value - base})
    return rows


def _comparison(fp32: Path, int8: Path, evalset, score, kind: str,
                progress: Progress) -> list[dict]:
    if progress:
        progress(f"measuring fp32 and int8: {data.COMPARISON_SAMPLES} validation samples at "
                 f"most, latency over {measure.LATENCY_RUNS} runs at batch 1 and 32")
    rows = []
    make = measure.feeds_maker(measure.session(fp32), evalset.x)
    for label, path in (("fp32", fp32), ("int8", int8)):
        rows.append({"model": label, "bytes": path.stat().st_size,
                     "metric": measure.METRICS[kind], "value": score(path, evalset),
                     "latency_ms_b1": measure.latency(path, make, 1),
                     "latency_ms_b32": measure.latency(path, make, 32)})
    return rows


def _copy_beside(fp32_report: ExportReport, stage) -> dict[str, str]:
    """The files the fp32 export wrote beside its model (a text run's tokenizer.json),
    copied into the stage: every format ships them."""
    copied = {}
    for path in fp32_report.files:
        if path.suffix != ".onnx" and not path.name.endswith("README.md"):
            shutil.copyfile(path, stage.path(path.name))
            copied[path.name] = "the tokenizer the model was trained with"
    return copied


def _card(src: Source, main: str, beside: dict[str, str], report: ExportReport,
          lines: Iterable[str]) -> str:
    from engine.export import card
    from engine.shapes import analyze_graph

    analysis = analyze_graph(src.graph, src.graph_name, src.project.graphs)
    files = {main: "int8 ONNX model (ONNX Runtime static quantization, QOperator), one file",
             **beside}
    return card.model_card(src, analysis, "onnx", files, report, extra=list(lines))
