"""Export and import commands: `layerforge export` and `layerforge import`."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from engine.errors import UsageError
from engine.terminal import for_terminal


def register(sub: argparse._SubParsersAction) -> None:
    from engine.export import DEFAULT_CALIBRATION, DEFAULT_OPSET, FORMATS

    p = sub.add_parser("export", help="export a trained run (or a project, untrained) to ONNX "
                       "(fp32 or int8), safetensors, standalone PyTorch code, torch.export, or "
                       "a prediction server folder")
    p.add_argument("source", metavar="RUN_DIR|FILE",
                   help="a run folder (trained weights) or a .lforge project (untrained)")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--out", required=True, metavar="PATH",
                   help="output folder, or a file with the format's suffix (.onnx, "
                        ".safetensors, .pt2)")
    p.add_argument("--graph", metavar="NAME", help="which graph (e.g. generator in a GAN)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset version")
    p.add_argument("--calibration", type=int, default=DEFAULT_CALIBRATION, metavar="N",
                   help="onnx-int8 (and server --int8): training samples that calibrate the "
                        f"activation ranges (default {DEFAULT_CALIBRATION})")
    p.add_argument("--int8", action="store_true",
                   help="server: serve the int8 model instead of the fp32 one")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="turn a PyTorch nn.Module (traced with torch.fx) or a "
                       "Hugging Face Hub image classifier (hf:OWNER/NAME) into an editable "
                       "project")
    p.add_argument("target", metavar="MODULE:CALLABLE|hf:OWNER/NAME",
                   help="e.g. mypkg.nets:make_model or path/to/model.py:Net (the callable "
                        "returns an nn.Module; a class is called without arguments), or "
                        "hf:microsoft/resnet-18: a Hub image-classification model of a "
                        "supported architecture (resnet, mobilenet_v2, efficientnet, convnext, "
                        "vit), fetched as safetensors through the Hugging Face cache")
    p.add_argument("--input-shape", action="append", metavar="D1,D2,...",
                   help="nn.Module: per-sample shape of one forward input, without the batch "
                        "(-1 for a variable length); repeat for several inputs")
    p.add_argument("--dtype", action="append", choices=("float", "long"),
                   help="nn.Module: input element type (once for all inputs, or once per input)")
    p.add_argument("--vocab", action="append", type=int,
                   help="nn.Module: number of token ids of a long input (once, or once per input)")
    p.add_argument("-o", "--out", metavar="FILE.lforge",
                   help="the project to write (hf: defaults to NAME.lforge here)")
    p.add_argument("--weights", action="store_true",
                   help="nn.Module: also write the module's weights to FILE.safetensors next to it")
    p.add_argument("--revision", metavar="REV",
                   help="hf: the branch, tag or commit to import (default main; the project "
                        "records the commit it resolved to)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=cmd_import)


def cmd_export(args: argparse.Namespace) -> int:
    from engine.export import export

    def progress(msg: str) -> None:
        print(f"  {for_terminal(msg)}", file=sys.stderr)

    if args.int8 and args.format != "server":
        raise UsageError("--int8 is for --format server (onnx-int8 is always int8)")
    if args.calibration < 1:
        raise UsageError("--calibration must be at least 1")
    # an ExportError is a UserError: exit 2 for what the user can fix, 1 for a full disk
    report = export(args.source, args.format, args.out, graph=args.graph, opset=args.opset,
                    progress=progress, calibration=args.calibration, int8=args.int8)
    for w in report.warnings:
        print(f"warning: {for_terminal(w)}", file=sys.stderr)  # one line each
    for m in report.messages:
        print(for_terminal(m))
    return 0


def _per_input(values: list | None, n: int, flag: str, default):
    if not values:
        return [default] * n
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise UsageError(f"give {flag} once, or once per --input-shape ({n} times)")
    return values


MAX_INPUT_VALUES = 2**27  # per sample: half a gigabyte of float32


def parse_shape(text: str):
    """``1,28,28`` -> (1, 28, 28); -1 means a variable length (None)."""
    try:
        dims = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise UsageError(f"--input-shape {text!r}: expected whole numbers like 1,28,28") from None
    if not dims or any(d == 0 or d < -1 for d in dims):
        raise UsageError(f"--input-shape {text!r}: sizes must be positive (or -1 for a "
                         "variable length)")
    # the module is traced on an example batch of this shape: it must fit in memory
    if math.prod(abs(d) for d in dims) > MAX_INPUT_VALUES:
        raise UsageError(f"--input-shape {text!r}: at most {MAX_INPUT_VALUES:,} values per "
                         "sample")
    return tuple(None if d == -1 else d for d in dims)


def cmd_import(args: argparse.Namespace) -> int:
    if args.target.startswith("hf:"):
        return cmd_import_hub(args)
    if args.revision is not None:
        raise UsageError("--revision is for hf:OWNER/NAME imports")
    if not args.input_shape:
        raise UsageError(f"import {args.target}: give --input-shape D1,D2,... for each forward "
                         "input of the module")
    if not args.out:
        raise UsageError(f"import {args.target}: give --out FILE.lforge")
    from engine.blocks.base import TensorSpec
    from engine.export.importer import import_module, load_callable
    from engine.project import FILE_SUFFIX

    out = Path(args.out)
    if out.suffix != FILE_SUFFIX:
        raise UsageError(f"{out}: project files end in {FILE_SUFFIX}")
    weights = out.with_suffix(".safetensors")
    for f in (out, weights) if args.weights else (out,):
        if f.exists() and not args.force:
            raise UsageError(f"{f}: already exists (use --force to overwrite)")
    n = len(args.input_shape)
    dtypes = _per_input(args.dtype, n, "--dtype", "float")
    vocabs = _per_input(args.vocab, n, "--vocab", None)
    specs = []
    for text, dtype, vocab in zip(args.input_shape, dtypes, vocabs, strict=True):
        if dtype == "long" and not vocab:
            raise UsageError("a long (token id) input needs --vocab N")
        specs.append(TensorSpec(parse_shape(text), dtype, vocab if dtype == "long" else None))
    result = import_module(load_callable(args.target), specs, name=args.target.rpartition(":")[2])
    _write(result, out, weights if args.weights else None)
    for m in result.messages:
        print(for_terminal(m))
    print(f"wrote {for_terminal(out)}" + (f" and {for_terminal(weights)}" if args.weights else ""))
    return 0


def cmd_import_hub(args: argparse.Namespace) -> int:
    from engine.project import FILE_SUFFIX
    from engine.zoo import hf_import, hub

    for flag, given in (("--input-shape", args.input_shape), ("--dtype", args.dtype),
                        ("--vocab", args.vocab), ("--weights", args.weights)):
        if given:
            raise UsageError(f"{flag} is for nn.Module imports; a Hub model's config says its "
                             "input and its weights stay in the Hugging Face cache")
    repo = hub.split_source(args.target)
    out = Path(args.out) if args.out else hf_import.default_out(repo)
    if out.suffix != FILE_SUFFIX:
        raise UsageError(f"{out}: project files end in {FILE_SUFFIX}")
    head = out.with_name(out.stem + hf_import.HEAD_SUFFIX)
    for f in (out, head):
        if f.exists() and not args.force:
            raise UsageError(f"{f}: already exists (use --force to overwrite)")
    shown = [-1]

    def progress(done: int, total: int) -> None:
        step = done * 10 // total if total else 0
        if step != shown[0] and sys.stderr.isatty():
            shown[0] = step
            print(f"\r  model.safetensors: {done / 1e6:.1f} of {total / 1e6:.1f} MB",
                  end="", file=sys.stderr, flush=True)

    result = hf_import.import_hub(args.target, args.revision or "main", progress=progress)
    if shown[0] >= 0:
        print(file=sys.stderr)
    hf_import.write(result, out)
    for m in result.messages:
        print(for_terminal(m))
    print(f"wrote {for_terminal(str(out))} (graphs model and backbone) and "
          f"{for_terminal(str(head))} (the classifier head, named by training.init_from)")
    return 0


def _write(result, out: Path, weights: Path | None) -> None:
    """Write the project (and weights), leaving nothing behind if any write fails."""
    from engine.compile import compile_graph
    from engine.export import ExportError
    from engine.export.common import staged
    from engine.export.weights import write_weights
    from engine.project import ProjectError, save_project
    from engine.shapes import analyze_graph

    try:
        with staged(out.parent if str(out.parent) else Path()) as stage:
            save_project(result.project, stage.path(out.name))
            if weights is not None:
                analysis = analyze_graph(result.graph, "model")
                module = compile_graph(result.graph, "model", 0, analysis)
                module.load_state_dict(result.weights)
                write_weights(stage.path(weights.name), module, result.graph, "model", analysis,
                              trained=True)
    except ProjectError as e:
        raise ExportError(str(e)) from None
