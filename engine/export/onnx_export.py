"""ONNX export with verification: one self-contained file, a dynamic batch dimension (and
a dynamic length where an Input has a variable dimension), checked by onnx.checker and
compared with PyTorch in onnxruntime at two batch sizes before it is kept.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.export.common import ExportError, Progress
from engine.project import Graph
from engine.shapes import GraphAnalysis, analyze_graph

# onnxruntime (1.2x on Linux) otherwise writes a device id under ~/.cache/Microsoft and
# uploads usage telemetry: an export writes its own files only, and nothing leaves the
# machine. onnxruntime reads this when it is first imported, so it is set here, before.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

DEFAULT_OPSET = 18
#: verification cases: (batch size, length of variable dimensions)
CASES = ((1, 5), (3, 11))


#: a custom comparison of PyTorch's outputs with onnxruntime's (see verify_onnx)
Compare = Callable[[list[Any], list[Any], str, Any], float]


def onnx_problems(graph: Graph, analysis: GraphAnalysis | None = None) -> list[tuple[str, str]]:
    """(node id, reason) for every block in ``graph`` that cannot be exported to ONNX.

    Asks each block with its params and input shapes (``Block.onnx_problem``); pure Python
    and cheap enough to run after every edit. Pass the graph's analysis if you have it.
    """
    a = analysis if analysis is not None else analyze_graph(graph)
    return _problems(a)


def _problems(a: GraphAnalysis) -> list[tuple[str, str]]:
    """The blocks of an analysed graph that cannot be exported, composites' insides too."""
    s = a.structure
    out = []
    for nid, block in s.blocks.items():
        info = a.nodes.get(nid)
        if info is not None and info.inner is not None:
            target = info.inner.structure.name
            out += [(nid, f"inside {target}, {inner}: {reason}")
                    for inner, reason in _problems(info.inner)]
            continue
        if nid in s.params and info is not None and (info.ins or not s.sources.get(nid)):
            reason = block.onnx_problem(s.params[nid], info.ins)
        else:
            reason = block.onnx_issue
        if reason:
            out.append((nid, reason))
    return out


def tolerance_for(reference: float, atol: float, rtol: float) -> float:
    return atol + rtol * reference


def dynamic_shapes(analysis):
    """torch.export Dims: a dynamic batch, and one shared length for variable dimensions."""
    import torch

    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    max_len = [p["max_len"] for nid, p in analysis.structure.params.items()
               if analysis.structure.blocks[nid].type == "PositionalEncoding"]
    length = torch.export.Dim("length", min=2, max=min(max_len, default=1 << 20))
    shapes = []
    for spec in analysis.input_specs():
        dims = {0: batch}
        for i, d in enumerate(spec.shape):
            if d is None:
                dims[i + 1] = length
        shapes.append(dims)
    return tuple(shapes)


@contextlib.contextmanager
def quiet():
    """The exporter prints progress and warnings; an API must not."""
    buf = io.StringIO()
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(buf), \
                contextlib.redirect_stderr(buf):
            warnings.simplefilter("ignore")
            yield buf
    finally:
        logger.setLevel(level)


def write_onnx(path: Path, module, analysis, graph: Graph, opset: int, progress: Progress,
               graph_name: str, metadata: dict[str, str] | None = None,
               output_names: list[str] | None = None) -> None:
    """Export ``module`` to ``path`` as a single ONNX file (raises ExportError on failure).
    ``metadata`` goes into the model's metadata_props (the graph is not changed).
    ``output_names``: the outputs' names when ``module`` is more than the graph (a detector
    with its decoder); by default the graph's Output blocks."""
    from engine.compile import example_inputs
    from engine.vision.onnx_nms import onnx_translations  # a detector's NMS node

    problems = onnx_problems(graph, analysis)
    if problems:
        nid, why = problems[0]
        raise ExportError(f"block {nid} cannot be exported to ONNX: {why}")
    import torch

    if progress:
        progress(f"exporting {graph_name} to ONNX (opset {opset})")
    xs = tuple(example_inputs(analysis, batch=2, var_len=8))
    names = list(analysis.structure.inputs)
    try:
        with quiet(), torch.no_grad():
            program = torch.onnx.export(module, xs, dynamo=True, opset_version=opset,
                                        dynamic_shapes=dynamic_shapes(analysis),
                                        input_names=names,
                                        output_names=output_names
                                        or list(analysis.structure.outputs),
                                        verbose=False, report=False,
                                        custom_translation_table=onnx_translations())
            program.save(str(path), external_data=False)
    except OSError:
        raise  # the disk's failure (full, read-only), not the exporter's: the stage says so
    except Exception as e:  # the exporter raises many types; the first line says why
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ExportError(f"PyTorch could not export {graph_name} to ONNX: {reason}") from None
    if not path.is_file():
        raise ExportError("the ONNX exporter wrote no file")
    extra = [p.name for p in path.parent.iterdir() if p.suffix == ".data"]
    if extra:
        raise ExportError(f"the ONNX exporter wrote external data ({', '.join(extra)}); "
                          "LayerForge exports a single file")
    if metadata:
        add_metadata(path, metadata)


def add_metadata(path: Path, metadata: dict[str, str]) -> None:
    """Set ``metadata`` entries in the ONNX file's metadata_props (onnxruntime shows them in
    ``session.get_modelmeta().custom_metadata_map``), keeping the other entries."""
    import onnx

    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    props.update(metadata)
    onnx.helper.set_model_props(model, props)
    onnx.save(model, str(path))


def verify_onnx(path: Path, module, analysis, atol: float, rtol: float,
                progress: Progress, compare: Compare | None = None) -> dict[str, float]:
    """Run onnx.checker and onnxruntime on random inputs at two batch sizes.

    Returns the largest absolute difference from PyTorch per case; raises ExportError when
    the model is invalid, is refused by onnxruntime, or differs beyond the tolerance.
    ``compare(refs, gots, label, module)`` replaces the element-wise comparison of the
    outputs (numpy arrays, same shapes): it raises ExportError or returns the difference to
    report. It gets ``module`` too (a detector's check runs its decoder on onnxruntime's maps).
    """
    import onnx
    import onnxruntime as ort
    import torch

    from engine.compile import example_inputs

    if progress:
        progress("checking the ONNX model")
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as e:
        raise ExportError(f"onnx.checker rejected the exported model: {e}") from None
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:
        raise ExportError(f"onnxruntime cannot load the exported model: {e}") from None
    has_var = any(None in s.shape for s in analysis.input_specs())
    diffs: dict[str, float] = {}
    gen = torch.Generator().manual_seed(1234)
    for batch, length in CASES:
        label = f"batch {batch}" + (f", length {length}" if has_var else "")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 1 << 30, (1,), generator=gen)))
            xs = example_inputs(analysis, batch=batch, var_len=length)
        with torch.no_grad():
            ref = module(*xs)
        refs = list(ref) if isinstance(ref, tuple) else [ref]
        feeds = {i.name: x.numpy() for i, x in zip(session.get_inputs(), xs, strict=True)}
        try:
            got = session.run(None, feeds)
        except Exception as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ExportError(f"onnxruntime cannot run the exported model on {label} (the "
                              f"exporter may have fixed a dimension that should vary): {first}"
                              ) from None
        refs_np = [r.detach().cpu().numpy() for r in refs]
        for r_np, g in zip(refs_np, got, strict=True):
            if r_np.shape != g.shape:
                raise ExportError(f"the ONNX model returns shape {list(g.shape)} on {label} "
                                  f"but PyTorch returns {list(r_np.shape)}")
        if compare is not None:
            diffs[label] = compare(refs_np, got, label, module)
        else:
            diffs[label] = compare_close(refs_np, got, label, atol, rtol)
    return diffs


def compare_close(refs, gots, label: str, atol: float, rtol: float) -> float:
    """The largest |onnxruntime - PyTorch| over the outputs (numpy arrays of equal shapes);
    ExportError when one exceeds ``atol + rtol * max|output|``."""
    import numpy as np

    worst = 0.0
    for r, g in zip(refs, gots, strict=True):
        diff = float(np.max(np.abs(r.astype(np.float64) - g))) if r.size else 0.0
        scale = float(np.max(np.abs(r))) if r.size else 0.0
        if not diff <= tolerance_for(scale, atol, rtol):
            raise ExportError(f"the ONNX model differs from PyTorch by up to {diff:.3g} on "
                              f"{label}, more than the tolerance "
                              f"{tolerance_for(scale, atol, rtol):.3g}")
        worst = max(worst, diff)
    return worst
