"""What language and sound runs add to an export: the tokenizer files, their metadata and
model card lines, and the sequence-to-sequence ONNX export (two files).

A run that read text records its tokenizer in data.json (Hugging Face ``tokenizers`` JSON,
see :mod:`engine.data.texts.tokenizer`); every export format writes it beside the model as
``tokenizer.json`` (and ``target_tokenizer.json`` when a seq2seq run's target side has its
own), so that the exported model takes the same text with nothing of LayerForge: the ONNX
metadata names the file (``layerforge.tokenizer``), and audio models record their sample
rate (``layerforge.sample_rate``). A seq2seq project has two graphs, ``encoder`` and
``decoder``: its ONNX export writes both, and the check decodes sentences greedily in a
fresh process (:mod:`engine.export.text_check`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.export.common import ExportError, ExportReport, Progress, Source

TOKENIZER_FILE = "tokenizer.json"
TARGET_TOKENIZER_FILE = "target_tokenizer.json"
META_TOKENIZER = "layerforge.tokenizer"
META_TARGET_TOKENIZER = "layerforge.target_tokenizer"
META_TARGET_VOCAB = "layerforge.target_vocab"
META_SAMPLE_RATE = "layerforge.sample_rate"
#: data.json fields holding a tokenizer's JSON -> the file an export writes it to
TOKENIZER_FIELDS = {"tokenizer": TOKENIZER_FILE, "target_tokenizer": TARGET_TOKENIZER_FILE}
#: the special token ids every LayerForge tokenizer has
PAD, UNK, BOS, EOS = 0, 1, 2, 3


def tokenizer_files(info: dict[str, Any] | None) -> dict[str, str]:
    """{file name: tokenizer JSON} for a run's data description; a seq2seq run with one
    shared tokenizer gets one file, which both sides use."""
    return {name: info[key] for key, name in TOKENIZER_FIELDS.items()
            if info and isinstance(info.get(key), str)}


def target_tokenizer_file(info: dict[str, Any] | None) -> str:
    """The file that decodes a seq2seq model's output ids."""
    return TARGET_TOKENIZER_FILE if (info or {}).get("target_tokenizer") else TOKENIZER_FILE


def slim_info(info: dict[str, Any]) -> dict[str, Any]:
    """``info`` with each tokenizer's JSON replaced by the name of the file that holds it,
    for the ``layerforge.preprocessing`` metadata (a BPE tokenizer is hundreds of kB)."""
    out = dict(info)
    for key, name in TOKENIZER_FIELDS.items():
        if isinstance(out.get(key), str):
            out[key] = name
    return out


def text_metadata(info: dict[str, Any] | None) -> dict[str, str]:
    """The ``layerforge.tokenizer`` / ``target_tokenizer`` / ``target_vocab`` /
    ``sample_rate`` metadata entries of a run."""
    if not info:
        return {}
    files = tokenizer_files(info)
    meta = {}
    if TOKENIZER_FILE in files:
        meta[META_TOKENIZER] = TOKENIZER_FILE
    if TARGET_TOKENIZER_FILE in files:
        meta[META_TARGET_TOKENIZER] = TARGET_TOKENIZER_FILE
    if info.get("target_vocab"):
        meta[META_TARGET_VOCAB] = json.dumps(info["target_vocab"], ensure_ascii=False)
    if info.get("sample_rate"):
        meta[META_SAMPLE_RATE] = str(int(info["sample_rate"]))
    return meta


def check_tokenizer(text: Any, where: str, field: str) -> str:
    """A data.json tokenizer field: Hugging Face tokenizers JSON that loads."""
    from tokenizers import Tokenizer

    hint = "retrain the run to write it again"
    if not isinstance(text, str):
        raise ExportError(f"{where}: field {field!r} must be a tokenizer's JSON text; {hint}")
    try:
        Tokenizer.from_str(text)
    except Exception as e:  # tokenizers raises its own Exception type
        first = (str(e).strip().splitlines() or ["not a tokenizer"])[0]
        raise ExportError(f"{where}: field {field!r} is not a tokenizer ({first}); {hint}"
                          ) from None
    return text


def write_tokenizers(stage, info: dict[str, Any] | None) -> dict[str, str]:
    """Write the run's tokenizer file(s) into the export ``stage``; {name: what it is}
    for the model card's list of files."""
    files = {}
    for name, text in tokenizer_files(info).items():
        stage.path(name).write_text(text, encoding="utf-8")
        side = "the output text's" if name == TARGET_TOKENIZER_FILE else "the input text's"
        files[name] = f"{side} tokenizer (Hugging Face tokenizers JSON)"
    return files


def fresh_check(src: Source):
    """The fresh-process check of a trained text classifier's or sound model's ONNX
    export (a function of :mod:`engine.export.text_check`), or None for other runs."""
    from engine.export import text_check

    info = src.data
    if not src.trained or not info:
        return None
    if info.get("kind") == "tokens" and info.get("tokenizer") and info.get("target") == "class":
        return text_check.check_classifier
    if info.get("kind") == "audio":
        return text_check.check_audio
    return None


# -- seq2seq: two graphs, two ONNX files ----------------------------------------------------


def seq2seq_sources(path) -> tuple[Source, Source] | None:
    """The encoder and decoder of a seq2seq run folder or project file; None when ``path``
    is another task's (or not a project: the caller's loader says why)."""
    from engine.export.common import RUN_PROJECT, load_source
    from engine.project import ProjectError, load_project

    p = Path(path)
    file = p / RUN_PROJECT if p.is_dir() else p
    try:
        project = load_project(file)
    except (ProjectError, OSError):
        return None
    if project.task.kind != "seq2seq":
        return None
    return load_source(p, "encoder"), load_source(p, "decoder")


def export_seq2seq_onnx(encoder: Source, decoder: Source, out: Path, *, opset: int,
                        atol: float, rtol: float, progress: Progress) -> ExportReport:
    """``encoder.onnx`` and ``decoder.onnx`` (each verified against PyTorch on random ids),
    the tokenizer(s) and the model card in the folder ``out``; for a trained run, fixed
    sentences decoded greedily with onnxruntime in a fresh process must give PyTorch's texts."""
    import torch

    from engine.export import card
    from engine.export.common import (
        build_module,
        missing_data_warning,
        staged,
        untrained_warning,
    )
    from engine.export.onnx_export import verify_onnx, write_onnx
    from engine.export.preprocessing import metadata
    from engine.export.text_check import check_seq2seq
    from engine.shapes import analyze_graph

    out = Path(out)
    if out.suffix == ".onnx":
        raise ExportError(f"{out}: a sequence-to-sequence export writes two files "
                          "(encoder.onnx and decoder.onnx); give a folder")
    report = ExportReport("onnx", "encoder, decoder", trained=encoder.trained,
                          opset=opset, tolerance=atol)
    if not encoder.trained:
        report.warnings.append(untrained_warning(encoder))
    elif encoder.data is None:
        report.warnings.append(missing_data_warning(encoder))
    parts = []
    for src in (encoder, decoder):
        analysis = analyze_graph(src.graph, src.graph_name, src.project.graphs)
        parts.append((src, analysis, build_module(src)))
    info = encoder.data
    task = {"kind": "seq2seq", "bos": BOS, "eos": EOS, "pad": PAD,
            "decoding": "greedy: feed [BOS] padded with 0 to decoder.onnx, take the argmax "
                        "at the last real step, append, stop at EOS"}
    meta = {**metadata(info), "layerforge.task": json.dumps(task)}
    files: dict[str, str] = {}
    with staged(out) as stage, torch.no_grad():
        for src, analysis, module in parts:
            name = f"{src.graph_name}.onnx"
            write_onnx(stage.path(name), module, analysis, src.graph, opset, progress,
                       src.graph_name, {**meta, "layerforge.graph": src.graph_name})
            diffs = verify_onnx(stage.tmp / name, module, analysis, atol, rtol, progress)
            report.max_abs_diff.update({f"{src.graph_name}, {k}": v for k, v in diffs.items()})
            what = ("source ids -> memory" if src is encoder
                    else "target prefix + memory -> next-token logits")
            files[name] = f"ONNX model of the {src.graph_name} ({what}), opset {opset}"
        files.update(write_tokenizers(stage, info))
        if encoder.trained and tokenizer_files(info):
            (_, enc_an, enc), (_, dec_an, dec) = parts
            report.checks.append(check_seq2seq(stage.tmp, enc, enc_an, dec, dec_an, encoder,
                                               atol, rtol, progress))
        (src, analysis, _), (dsrc, dec_an, _) = parts
        text = card.model_card(src, analysis, "onnx", files, report,
                               more=[(dsrc.graph_name, dec_an)])
        stage.path("README.md").write_text(text, encoding="utf-8")
        report.files = [stage.final(n) for n in stage.names]
    report.messages.append(f"exported graphs encoder and decoder as onnx to "
                           f"{', '.join(str(f) for f in report.files)}")
    report.messages.append(f"ONNX opset {opset}")
    diffs = ", ".join(f"{k}: {v:.2g}" for k, v in report.max_abs_diff.items())
    report.messages.append(f"verified: max absolute difference from PyTorch {diffs}")
    report.messages += [f"verified: {c}" for c in report.checks]
    return report


# -- model card ------------------------------------------------------------------------------


def card_section(src: Source, fmt: str, files: dict[str, str]) -> list[str]:
    """The model card's "Text and sound" section: which file tokenizes, the sample rate,
    and a few lines of Python (tokenizers + onnxruntime) that run the exported model."""
    from engine.export.card_text import usage

    info = src.data or {}
    if not tokenizer_files(info) and not info.get("sample_rate"):
        return []
    return ["", "## Text and sound", "", *usage(src, fmt, files)]
