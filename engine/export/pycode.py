"""Standalone PyTorch code: a readable ``model.py`` that needs only torch (and safetensors
to load its weights).

The code is printed from the compiled fx graph with a fixed vocabulary: every name in it is
a node id (already checked by the one sanitizer, engine.naming), a torch/nn name from the
tables below, or a class copied from engine.blocks.modules (or modules_text, modules_audio).
Labels and other free text never reach the code as code; the class name is the graph name
passed through ``make_identifier``. A run's class names and vocabulary appear only as
``repr`` string literals (``CLASSES``, ``VOCAB``), next to its normalisation ``MEAN``/``STD``
and a ``preprocess`` helper. Each module's constructor expression comes from
:mod:`engine.export.pycode_modules`.
"""

from __future__ import annotations

import inspect
import keyword
import operator
import re
from pathlib import Path
from typing import Any

from engine.export.common import ExportError
from engine.export.pycode_modules import CUSTOM, CUSTOM_MODULES, constructor, custom_classes
from engine.export.pycode_modules import literal as _lit
from engine.export.vision import DECODE_PARTS
from engine.naming import RESERVED, make_identifier

WEIGHTS_NAME = "weights.safetensors"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: names the generated module uses itself; a variable must never shadow them
_TAKEN = frozenset({"self", "torch", "nn", "math", "super", "load", "path", "device", "model",
                    "Path", "load_file"})


def class_name(graph_name: str) -> str:
    """CamelCase class name from the graph name, through the one sanitizer."""
    ident = make_identifier(graph_name, fallback="model")
    base = ident[:-2]
    if ident.endswith("_1") and (keyword.iskeyword(base) or base in RESERVED):
        ident = base  # reserved as an attribute name, harmless once capitalised
    name = "".join(p.capitalize() for p in ident.split("_") if p) or "Model"
    if keyword.iskeyword(name) or name in CUSTOM or name in DECODE_PARTS or name == "Path":
        name += "Model"
    return name


def _var(name: str) -> str:
    if not _NAME.match(name) or keyword.iskeyword(name) or name in _TAKEN:
        raise ExportError(f"{name!r} cannot be a variable name in generated code")
    return name


def _arg(v: Any) -> str:
    from torch import fx

    if isinstance(v, fx.Node):
        return _var(v.name)
    if isinstance(v, list | tuple) and any(isinstance(x, fx.Node) for x in v):
        inner = ", ".join(_arg(x) for x in v)
        return f"[{inner}]" if isinstance(v, list) else f"({inner})"
    return _lit(v)


def _statement(node) -> str:
    import torch

    args = [_arg(a) for a in node.args]
    kwargs = [f"{k}={_arg(v)}" for k, v in node.kwargs.items()]
    if node.op == "call_module":
        return f"self.{_var(str(node.target))}({', '.join(args + kwargs)})"
    if node.op == "call_function":
        if node.target is operator.add and len(args) == 2:
            return f"{args[0]} + {args[1]}"
        if node.target is operator.mul and len(args) == 2:
            return f"{args[0]} * {args[1]}"
        names = {torch.flatten: "torch.flatten", torch.cat: "torch.cat"}
        if node.target in names:
            return f"{names[node.target]}({', '.join(args + kwargs)})"
    if node.op == "call_method" and node.target in ("reshape", "permute", "mean", "select"):
        return f"{args[0]}.{node.target}({', '.join(args[1:] + kwargs)})"
    raise ExportError(f"no code generator for the operation {node.target!r}")


def forward_lines(gm) -> tuple[list[str], list[str]]:
    """(forward parameter names, body lines) printed from the fx graph."""
    params: list[str] = []
    body: list[str] = []
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            params.append(_var(node.name))
        elif node.op == "output":
            out = node.args[0]
            body.append(f"return {_arg(out)[1:-1] if isinstance(out, tuple) else _arg(out)}")
        else:
            body.append(f"{_var(node.name)} = {_statement(node)}")
    return params, body


class _Composites:
    """The classes of the composite blocks a module uses, each printed once: uses of one
    composite graph share a class, unless their inputs gave them different layers (then
    each variant gets its own, numbered)."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)
        self.sources: list[list[str]] = []  # in dependency order: a class before its users
        self._by_body: dict[str, str] = {}

    def init_lines(self, gm) -> list[str]:
        """``self.<child> = ...`` for each child of ``gm``, composites by their class."""
        from torch import fx

        out = []
        for name, child in gm.named_children():
            if isinstance(child, fx.GraphModule):
                out.append(f"self.{_var(name)} = {self._class_for(child)}()")
            else:
                out.append(f"self.{_var(name)} = {constructor(child)}")
        return out

    def _class_for(self, gm) -> str:
        init = self.init_lines(gm)
        params, body = forward_lines(gm)
        key = "\n".join([*init, "|", *params, "|", *body])
        if key in self._by_body:
            return self._by_body[key]
        base = class_name(type(gm).__name__)
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}{n}"
        self.taken.add(name)
        self._by_body[key] = name
        self.sources.append([
            f"class {name}(nn.Module):",
            '    """A composite block."""',
            "",
            "    def __init__(self):",
            "        super().__init__()",
            *(f"        {s}" for s in init),
            "",
            f"    def forward(self, {', '.join(params)}):",
            *(f"        {s}" for s in body),
        ])
        return name


def generate(gm, graph_name: str, analysis, weights_name: str = WEIGHTS_NAME,
             data: dict[str, Any] | None = None, decoder: dict[str, Any] | None = None) -> str:
    """The source of ``model.py`` for the compiled module ``gm``. ``data`` (a run's input
    preparation, see engine.export.preprocessing) becomes ``MEAN``, ``STD``, ``CLASSES``,
    ``VOCAB`` and ``preprocess``. ``decoder`` (a detector's Decoder settings) adds the
    decoder, ``decode(maps)`` and ``load_detector()`` (see engine.export.vision)."""
    from engine.export.preprocessing import python_constants

    cls = class_name(graph_name)
    used = custom_classes(gm)
    unknown = sorted(set(used) - set(CUSTOM))
    if unknown:
        raise ExportError(f"no code generator for module type {unknown[0]}")
    copied = [inspect.getsource(used[c]) for c in CUSTOM if c in used]
    composites = _Composites({cls})
    init = composites.init_lines(gm)
    params, body = forward_lines(gm)
    ins = ", ".join(f"{p} {s}" for p, s in zip(params, analysis.input_specs(), strict=True))
    outs = ", ".join(f"{o} {s}" for o, s in zip(analysis.structure.outputs,
                                                 analysis.output_specs(), strict=True))
    imports = ["import math"] if any("math." in c for c in copied) else []
    imports += ["from pathlib import Path", "", "import torch", "from torch import nn"]
    usage = ["    from model import load, preprocess",
             "    net = load()  # reads " + weights_name + " next to this file",
             "    y = net(preprocess(x))  # preprocess: normalise as in training (MEAN, STD)"]
    if decoder is not None:
        from engine.export.vision import DECODER_USAGE, decoder_code

        imports.append("import torch.nn.functional as F")
        usage += DECODER_USAGE
    lines = [
        f'"""{cls}: PyTorch code generated by LayerForge.',
        "",
        f"Inputs: {ins}. Outputs: {outs}.",
        "Needs only torch; load() also needs safetensors for the weights.",
        "",
        *usage,
        '"""',
        "",
        *imports,
        "",
        f"WEIGHTS = {weights_name!r}",
        *python_constants(data, _lit),
        "",
    ]
    for src in copied:
        lines += ["", src.rstrip(), "", ""]
    if not copied:
        lines.append("")
    for source in composites.sources:
        lines += [*source, "", ""]
    lines += [f"class {cls}(nn.Module):",
              f'    """Inputs {ins}; returns {outs}."""',
              "",
              "    def __init__(self):",
              "        super().__init__()"]
    lines += [f"        {s}" for s in init]
    lines += ["", f"    def forward(self, {', '.join(params)}):"]
    lines += [f"        {s}" for s in body]
    lines += [
        "", "",
        "def load(path=None, device=\"cpu\"):",
        f'    """A {cls} in eval mode with the weights from ``path`` (default: WEIGHTS next to',
        '    this file)."""',
        "    from safetensors.torch import load_file",
        "",
        "    if path is None:",
        "        path = Path(__file__).with_name(WEIGHTS)",
        f"    model = {cls}()",
        "    model.load_state_dict(load_file(str(path), device=str(device)))",
        "    return model.to(device).eval()",
        "",
    ]
    if decoder is not None:
        lines += decoder_code(decoder, _lit)
    return "\n".join(lines)


_VERIFY = """
import importlib.util, json, sys
import torch
from safetensors.torch import load_file
torch.set_num_threads(int(sys.argv[3]))  # as many as the exporter: same reduction order
spec = importlib.util.spec_from_file_location("layerforge_generated_model", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
net = getattr(mod, sys.argv[4])()  # load, or load_detector: the model with its decoder
data = load_file(sys.argv[2])
xs = [data[f"in{i}"] for i in range(sum(k.startswith("in") for k in data))]
with torch.no_grad():
    out = net(*xs)
outs = out if isinstance(out, tuple) else (out,)
same = len(outs) == sum(k.startswith("out") for k in data) and all(
    o.shape == data[f"out{i}"].shape and o.dtype == data[f"out{i}"].dtype
    for i, o in enumerate(outs))
worst = max((float((o.double() - data[f"out{i}"].double()).abs().max()) if o.numel() else 0.0
             for i, o in enumerate(outs)), default=0.0) if same else None
scale = max((float(data[f"out{i}"].double().abs().max()) if data[f"out{i}"].numel() else 0.0
             for i in range(len(outs))), default=0.0)
print(json.dumps({"equal": same and worst <= 1e-5 * max(1.0, scale), "worst": worst}))
"""


def _check_length(module) -> int:
    """The length of the check's variable dimensions: short (5), but at least each audio
    front end's window, as its reflection padding needs more samples than half a window."""
    windows = [m.n_fft for m in module.modules()
               if any(k.__name__ == "Spectrogram" and k.__module__ in CUSTOM_MODULES
                      for k in type(m).__mro__)]
    return max([5, *windows])


def verify_in_subprocess(model_py, io_file, module, analysis, timeout: float = 120.0,
                         loader: str = "load") -> None:
    """Run ``model_py`` in a fresh Python process on random inputs and require outputs
    equal to ``module``'s up to float rounding (1e-5 of the largest output: another process
    may pick other matrix kernels, measured 6e-8 on a residual MLP). ``loader``: the
    function of model.py that builds the module to compare (``load_detector`` for a
    detector with its decoder). Raises ExportError otherwise."""
    import json
    import subprocess
    import sys

    import torch
    from safetensors.torch import save

    from engine.compile import example_inputs

    xs = example_inputs(analysis, batch=2, var_len=_check_length(module))
    with torch.no_grad():
        out = module(*xs)
    outs = out if isinstance(out, tuple) else (out,)
    data = {f"in{i}": x.contiguous() for i, x in enumerate(xs)}
    data.update({f"out{i}": o.contiguous() for i, o in enumerate(outs)})
    Path(io_file).write_bytes(save(data))  # a full disk is an OSError, reported by the stage
    try:
        # Bit-identical outputs need the same intra-op thread count on both sides (a sum
        # split over more threads rounds differently).
        proc = subprocess.run([sys.executable, "-I", "-B", "-c", _VERIFY, str(model_py), str(io_file),
                               str(torch.get_num_threads()), loader],
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ExportError("the generated model.py did not finish its check in time") from None
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ExportError(f"the generated model.py failed its check: {err}")
    result = json.loads(lines[-1])
    if not result.get("equal"):
        worst = result.get("worst")
        detail = f" (largest difference {worst:.3g})" if isinstance(worst, float) else ""
        raise ExportError(f"the generated model.py does not reproduce the graph's outputs{detail}")


__all__ = ["CUSTOM", "CUSTOM_MODULES", "WEIGHTS_NAME", "class_name", "constructor",
           "forward_lines", "generate", "verify_in_subprocess"]
