"""The model card: a short README.md written next to every export."""

from __future__ import annotations

import json
import re
from typing import Any

from engine.export.common import Source
from engine.project import FILE_SUFFIX


def _fmt_metric(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int | str | bool):
        return str(v)
    return ""


def flat_metrics(evaluation: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(name, value) of the scalar metrics in evaluation.json, as the trainer writes it
    (``{"val": {...}, "test": {...}}`` -> ``val accuracy``), or flat (older files)."""
    out: list[tuple[str, str]] = []
    if not isinstance(evaluation, dict):
        return out
    for key, value in evaluation.items():
        if isinstance(value, dict):
            for name, v in value.items():
                text = _fmt_metric(v)
                if text:
                    out.append((f"{key} {name}", text))
        else:
            text = _fmt_metric(value)
            if text:
                out.append((str(key), text))
    return out


def _inputs(src: Source, fmt: str) -> list[str]:
    """How to prepare an input: the run's normalisation and classes, with code."""
    from engine.export.preprocessing import META_MEAN, describe, numpy_code

    info = src.data
    if info is None:
        if not src.trained:
            return ["Not known: a project file export does not load the data. Export a "
                    "training run's folder to get the normalisation and class names."]
        return ["Not recorded: this run folder has no data.json (it was trained before "
                "LayerForge saved how inputs are prepared). Retrain it to record them."]
    lines = describe(info)
    where = {"onnx": "the ONNX metadata_props (onnxruntime: "
                     "`session.get_modelmeta().custom_metadata_map`)",
             "safetensors": "the safetensors metadata",
             "python": "`model.py` (`MEAN`, `STD`, `CLASSES`) and the metadata of "
                       "`weights.safetensors`",
             "pt2": "the archive's extra file `layerforge.json`"}[fmt]
    lines += ["", f"The same values are in {where}, keys `layerforge.*` "
              f"(e.g. `{META_MEAN}`, JSON)."]
    if fmt == "python":
        if info.get("mean") is not None:
            lines += ["", "```python", "from model import load, preprocess", "",
                      "net = load()", "y = net(preprocess(x))  # (x - MEAN) / STD, as in training",
                      "```"]
        return lines
    code = numpy_code(info)
    if code:
        lines += ["", "```python", "import numpy as np", "", *code, "```"]
    return lines


# Characters that start Markdown inline syntax (code, emphasis, links, images, tables,
# strike-through, raw HTML/entities). Names are escaped, never filtered, so the card shows
# them as they are.
_MD_INLINE = re.compile(r"([\\`*_\[\]{}#+!|~])")
_MD_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_BLOCK_START = re.compile(r"^(\d+)([.)])|^([-=])")  # a list item or a setext underline
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def md_text(text: object, limit: int = 200, *, line_start: bool = False) -> str:
    """Untrusted text (a project, graph or class name, a path) as inert Markdown: one line,
    control characters shown as escapes (``\\x1b``), HTML as entities, Markdown syntax
    backslash-escaped, at most ``limit`` characters of the original. ``line_start``: the
    text opens a line or list item, where ``-`` or ``1.`` would start a list."""
    from engine.terminal import for_terminal

    s = str(text).strip()
    if len(s) > limit:
        s = s[:limit].rstrip() + "…"
    s = _MD_INLINE.sub(r"\\\1", for_terminal(s))
    s = "".join(_MD_HTML.get(ch, ch) for ch in s)
    if not line_start:
        return s
    return _MD_BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", s)


def _name(text: str) -> str:
    """A name as inline code when it is plain (``model``), else as escaped text: code spans
    cannot escape a backtick."""
    return f"`{text}`" if _PLAIN_NAME.match(text) else md_text(text, 100)


def project_title(src: Source) -> str:
    """The project's name; a project file still named "untitled" (saved before Save As
    named projects after their file) is called by its file's name."""
    name = src.project.name
    if name in ("", "untitled") and src.origin.suffix == FILE_SUFFIX:
        return src.origin.stem
    return name


def model_card(src: Source, analysis, fmt: str, files: dict[str, str], report,
               more: list[tuple[str, Any]] = (), extra: list[str] = ()) -> str:
    """Markdown describing the exported model and how to load it. ``more``: (graph name,
    analysis) of further graphs exported with it (a seq2seq model's decoder). ``extra``:
    Markdown lines of a further section, placed before Loading (an int8 export's tables)."""
    s = analysis.structure
    names = ", ".join(_name(n) for n in [src.graph_name, *(n for n, _ in more)])
    lines = [f"# {md_text(project_title(src))}: graph{'s' if more else ''} {names}", ""]
    if not src.trained:
        lines += ["> **Untrained weights.** This was exported from a project file, not from a "
                  "training run: the weights are the seeded initial values "
                  f"(seed {src.project.training.seed}). Train the project and export the run "
                  "folder for a useful model.", ""]
    ins = ", ".join(f"{_name(n)} {analysis.nodes[n].out}" for n in s.inputs)
    outs = ", ".join(f"{_name(n)} {analysis.nodes[n].out}" for n in s.outputs)
    lines += [
        "## Architecture" + (f" of {_name(src.graph_name)}" if more else ""), "",
        f"- Inputs: {ins} (N is the batch size, T a variable length)",
        f"- Outputs: {outs}",
        f"- Parameters: {analysis.total_params:,}",
        f"- Task: {src.project.task.kind}; dataset: {md_text(src.project.dataset.describe())}",
        "", *_blocks(analysis),
    ]
    for name, other in more:
        o = other.structure
        lines += ["", f"## Architecture of {_name(name)}", "",
                  "- Inputs: " + ", ".join(f"{_name(n)} {other.nodes[n].out}" for n in o.inputs),
                  "- Outputs: " + ", ".join(f"{_name(n)} {other.nodes[n].out}"
                                            for n in o.outputs),
                  f"- Parameters: {other.total_params:,}", "", *_blocks(other)]
    from engine.export.text import card_section
    from engine.export.vision_card import task_section

    lines += task_section(src, analysis, fmt)
    lines += card_section(src, fmt, files)
    lines += _pretrained(src)
    lines += ["", "## Metrics", ""]
    metrics = flat_metrics(src.metrics)
    if metrics:
        lines += [f"- {md_text(k, line_start=True)}: {md_text(v)}" for k, v in metrics]
    elif src.trained and src.metrics is not None:
        lines.append("evaluation.json in the run folder holds no metrics (the run may have "
                     "stopped before its end).")
    elif src.trained:
        lines.append("No evaluation.json in the run folder.")
    else:
        lines.append("None: the model has not been trained.")
    from engine.export.card_runs import fairness_section, privacy_section, usage_section

    lines += fairness_section(src) + privacy_section(src) + usage_section(src)
    lines += ["", "## Preparing the inputs", ""] + _inputs(src, fmt)
    lines += ["", "## Export", "", f"- Format: {fmt}"]
    lines += [f"- {_name(name)}: {md_text(what)}" for name, what in files.items()]
    if report.opset is not None:
        lines.append(f"- ONNX opset {report.opset}")
    if report.max_abs_diff:
        diffs = ", ".join(f"{k}: {v:.2g}" for k, v in report.max_abs_diff.items())
        lines.append(f"- Verified against PyTorch, max absolute difference: {diffs}")
    lines += [f"- Verified: {c}" for c in report.checks]  # the exporter's own sentences
    lines += list(extra)
    lines += ["", "## Loading", ""] + _loading(fmt, files, analysis, src.project.task.kind)
    return "\n".join(lines) + "\n"


def _blocks(analysis) -> list[str]:
    """The table of a graph's live blocks: id, type, output shape, parameters."""
    s = analysis.structure
    lines = ["| block | type | output | parameters |", "|---|---|---|---|"]
    for nid in s.order:
        if nid in s.live:
            info = analysis.nodes[nid]
            lines.append(f"| {_name(nid)} | {md_text(s.blocks[nid].type)} | {info.out} | "
                         f"{info.params:,} |")
    return lines


def _pretrained(src: Source) -> list[str]:
    """Where the pretrained composites' starting weights came from and under which licence
    (a fine-tuned model still carries its backbone's terms); nothing when there are none."""
    from engine.composite import descendants

    out = []
    for name in descendants(src.project.graphs, src.graph_name):
        graph = src.project.graphs.get(name)
        ref = graph.weights if graph is not None else None
        if ref is None:
            continue
        info = graph.info  # type: ignore[union-attr]
        where = md_text(ref.source) + (f" at revision {md_text(ref.revision)}"
                                       if ref.revision else "")
        title = f"{md_text(info.title)} " if info is not None and info.title else ""
        licence = (f"; licence: {md_text(info.licence)}" if info is not None and info.licence
                   else "; licence: see its source")
        out.append(f"- {_name(name)}: {title}weights from {where}{licence}")
        if info is not None and info.source:
            out.append(f"  - Source: {md_text(info.source, 300)}")
    if not out:
        return []
    lead = ("The training started from these published weights; their terms apply to this "
            "model too." if src.trained else
            "Training this project starts from these published weights (this untrained "
            "export does not hold them); their terms apply to the trained model too.")
    return ["", "## Pretrained weights", "", lead, "", *out]


def _loading(fmt: str, files: dict[str, str], analysis, kind: str = "") -> list[str]:
    main = json.dumps(next(iter(files)))  # a Python string literal, whatever --out was
    shape = []
    for spec in analysis.input_specs():
        dims = ", ".join("8" if d is None else str(d) for d in spec.shape)
        if spec.dtype == "long":
            shape.append(f"np.random.randint(0, {spec.vocab}, (1, {dims})).astype(np.int64)")
        else:
            shape.append(f"np.random.randn(1, {dims}).astype(np.float32)")
    if fmt == "onnx":
        feeds = ", ".join(f"inputs[{i}].name: {x}" for i, x in enumerate(shape))
        outputs = "boxes, scores, labels, maps" if kind == "detection" else "outputs"
        return ["```python", "import numpy as np", "import onnxruntime as ort", "",
                f"session = ort.InferenceSession({main})", "inputs = session.get_inputs()",
                f"{outputs} = session.run(None, {{{feeds}}})", "```"]
    if fmt == "safetensors":
        return ["With LayerForge installed (the graph is stored in the file's metadata):", "",
                "```python", "from engine.export import load_model", "",
                f"model = load_model({main})  # an nn.Module in eval mode", "```", "",
                "Or with the standalone code from `layerforge export --format python`."]
    if fmt == "python":
        lines = ["Needs only torch and safetensors:", "", "```python", "from model import load",
                 "", "model = load()  # reads weights.safetensors next to model.py", "```"]
        if kind == "detection":
            lines += ["", "A detector with its decoder (images in, boxes out):", "",
                      "```python", "from model import load_detector", "",
                      "boxes, scores, labels, maps = load_detector()(x)", "```"]
        return lines
    return ["```python", "import torch", "",
            f"program = torch.export.load({main})  # same torch version; trusted files only",
            "model = program.module()", "```"]
