"""Export and import commands: `layerforge export` and `layerforge import`."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from engine.cli.terminal import for_terminal
from engine.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    from engine.export import DEFAULT_OPSET, FORMATS

    p = sub.add_parser("export", help="export a trained run (or a project, untrained) to ONNX, "
                       "safetensors, standalone PyTorch code or torch.export")
    p.add_argument("source", metavar="RUN_DIR|FILE",
                   help="a run folder (trained weights) or a .lforge project (untrained)")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--out", required=True, metavar="PATH",
                   help="output folder, or a file with the format's suffix (.onnx, "
                        ".safetensors, .pt2)")
    p.add_argument("--graph", metavar="NAME", help="which graph (e.g. generator in a GAN)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset version")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="turn a PyTorch nn.Module into an editable project "
                       "(traced with torch.fx)")
    p.add_argument("target", metavar="MODULE:CALLABLE",
                   help="e.g. mypkg.nets:make_model or path/to/model.py:Net; the callable "
                        "returns an nn.Module (a class is called without arguments)")
    p.add_argument("--input-shape", action="append", required=True, metavar="D1,D2,...",
                   help="per-sample shape of one forward input, without the batch (-1 for a "
                        "variable length); repeat for several inputs")
    p.add_argument("--dtype", action="append", choices=("float", "long"),
                   help="input element type (once for all inputs, or once per input)")
    p.add_argument("--vocab", action="append", type=int,
                   help="number of token ids of a long input (once, or once per input)")
    p.add_argument("--out", required=True, metavar="FILE.lforge")
    p.add_argument("--weights", action="store_true",
                   help="also write the module's weights to FILE.safetensors next to it")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=cmd_import)


def cmd_export(args: argparse.Namespace) -> int:
    from engine.export import export

    def progress(msg: str) -> None:
        print(f"  {for_terminal(msg)}", file=sys.stderr)

    # an ExportError is a UserError: exit 2 for what the user can fix, 1 for a full disk
    report = export(args.source, args.format, args.out, graph=args.graph, opset=args.opset,
                    progress=progress)
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
