"""Import from code: trace an ``nn.Module`` with torch.fx into an editable LayerForge graph.

Known torch.nn layers and tensor operations map to blocks with their parameters (the table is
in docs/export.md); anything else is refused with a sentence naming the layer. The imported
graph is compiled, given the module's weights, and checked to reproduce the module's outputs
before it is returned, so a mapping mistake can never pass silently.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.blocks import get_block
from engine.blocks.base import TensorSpec
from engine.export.common import ExportError
from engine.export.import_ops import FUNCTIONS, METHODS
from engine.export.import_rules import map_module, own_layers
from engine.export.pycode_modules import CUSTOM_MODULES, custom_class
from engine.layout import apply_layout
from engine.naming import make_identifier
from engine.project import Edge, Graph, Node, Project


@dataclass(slots=True)
class ImportResult:
    """The imported project (one graph, ``model``), its weights and notes for the user."""

    project: Project
    weights: dict[str, Any]
    max_abs_diff: float
    messages: list[str] = field(default_factory=list)

    @property
    def graph(self) -> Graph:
        return self.project.graphs["model"]


def load_callable(spec: str):
    """``package.module:callable`` or ``path/to/file.py:callable`` -> the nn.Module it returns."""
    from torch import nn

    mod_name, sep, attr = spec.rpartition(":")
    if not sep or not mod_name or not attr:
        raise ExportError(f"{spec!r}: expected MODULE:CALLABLE, e.g. mypkg.nets:make_model")
    try:
        if mod_name.endswith(".py") or os.sep in mod_name:
            path = Path(mod_name)
            if not path.is_file():
                raise ExportError(f"{path}: no such file")
            loader = importlib.util.spec_from_file_location(f"_lf_import_{path.stem}", path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[loader.name] = module  # so inspect can find the classes' source
            loader.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(mod_name)
    except ExportError:
        raise
    except Exception as e:
        raise ExportError(f"cannot import {mod_name}: {type(e).__name__}: {e}") from None
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ExportError(f"{mod_name} has no attribute {attr!r}")
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise ExportError(f"{spec} is neither a module nor callable")
    try:
        made = obj()
    except Exception as e:
        raise ExportError(f"calling {spec}() failed: {type(e).__name__}: {e}") from None
    if not isinstance(made, nn.Module):
        raise ExportError(f"{spec}() returned a {type(made).__name__}, not a torch nn.Module")
    return made


def _same_class(cls: type, mine: type) -> bool:
    """Whether ``cls`` is LayerForge's class ``mine`` or an exact copy of it (as written into
    a generated model.py): the same source for it and each of LayerForge's classes it
    extends, and the very same torch bases."""
    if cls is mine:
        return True
    if len(cls.__mro__) != len(mine.__mro__):
        return False
    for theirs, ours in zip(cls.__mro__, mine.__mro__, strict=True):
        if ours.__module__ not in CUSTOM_MODULES:
            if theirs is not ours:
                return False
            continue
        try:
            if inspect.getsource(theirs) != inspect.getsource(ours):
                return False
        except (OSError, TypeError):
            return False
    return True


def _tracer():
    from torch import fx

    own = {name: custom_class(name) for name in own_layers()}

    class Tracer(fx.Tracer):
        # torch.nn layers stay whole (default), and so do LayerForge's own modules that have
        # an import rule, or exact copies of them (as written into generated model.py files).
        def is_leaf_module(self, m, qualname: str) -> bool:
            mine = own.get(type(m).__name__)
            if mine is not None:
                return _same_class(type(m), mine)
            return super().is_leaf_module(m, qualname)

    return Tracer()


def trace(module, name: str = "module"):
    """torch.fx GraphModule of ``module`` (ExportError with fx's reason if it cannot)."""
    from torch import fx

    try:
        graph = _tracer().trace(module)
    except Exception as e:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ExportError(f"torch.fx cannot trace {name}: {reason}") from None
    return fx.GraphModule(module, graph)


def _example(specs: list[TensorSpec], batch: int = 2, length: int = 6):
    import torch

    xs = []
    for s in specs:
        shape = (batch, *(length if d is None else d for d in s.shape))
        xs.append(torch.randint(0, s.vocab or 1, shape) if s.dtype == "long"
                  else torch.randn(shape))
    return xs


class _Builder:
    """Turns fx nodes into graph nodes and edges, tracking which graph node holds a value."""

    def __init__(self, gm) -> None:
        self.gm = gm
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.taken: set[str] = set()
        self.value: dict[Any, Any] = {}  # fx node -> graph node id, or a tagged tuple
        self.sources: dict[str, tuple[Any, str]] = {}  # graph id -> (module, weight suffix)

    def add(self, hint: str, type_: str, params: dict[str, Any], inputs: list[str],
            ports: tuple[str, ...] | None = None) -> str:
        """A node fed by ``inputs`` at ``ports`` (default: ``in``, or ``in0``, ``in1``...)."""
        nid = make_identifier(hint, self.taken, fallback="node")
        self.taken.add(nid)
        self.nodes.append(Node(id=nid, type=type_, params=params))
        if ports is None:
            ports = ("in",) if len(inputs) == 1 else tuple(f"in{i}" for i in range(len(inputs)))
        for src, port in zip(inputs, ports, strict=False):
            self.edges.append(Edge(src=src, dst=nid, dst_port=port))
        return nid

    def tensor(self, arg: Any, where: str) -> str:
        v = self.value.get(arg)
        if not isinstance(v, str):
            raise ExportError(f"`{where}` uses a value that is not a tensor LayerForge can "
                              "follow (only tensors flow between blocks)")
        return v


def import_module(module, inputs: list[TensorSpec], *, name: str = "imported",
                  seed: int = 0) -> ImportResult:
    """Trace ``module`` into a project with one graph ``model`` (laid out automatically).

    ``inputs`` are the per-sample specs of the forward arguments (no batch dimension; None
    for a variable length). Raises ExportError naming the first layer or operation that has
    no block, or when the imported graph would not reproduce the module.
    """
    import torch
    from torch.fx.passes.shape_prop import ShapeProp

    from engine.compile import compile_graph
    from engine.shapes import analyze_graph

    module = module.eval()
    gm = trace(module, name)
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != len(inputs):
        raise ExportError(f"the module's forward takes {len(placeholders)} inputs but "
                          f"{len(inputs)} input shapes were given")
    xs = _example(inputs)
    try:
        # ShapeProp prints the traceback itself before it raises: keep it off the terminal,
        # and say what the module's own error was
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
            ShapeProp(gm).propagate(*xs)
    except Exception as e:
        cause = e.__cause__ or e
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        shapes = ", ".join(str(s) for s in inputs)
        raise ExportError(f"the module fails on inputs {shapes}: {reason}") from None
    b = _Builder(gm)
    outputs: list[str] = []
    spec_of = dict(zip(placeholders, inputs, strict=True))
    for n in gm.graph.nodes:
        if n.op == "placeholder":
            s = spec_of[n]
            params = {"shape": [-1 if d is None else d for d in s.shape], "dtype": s.dtype}
            if s.dtype == "long":
                params["vocab"] = s.vocab or 1
            b.value[n] = b.add(n.name, "Input", params, [])
        elif n.op == "call_module":
            _call_module(b, n)
        elif n.op in ("call_function", "call_method"):
            table = FUNCTIONS if n.op == "call_function" else METHODS
            rule = table.get(n.target)
            if rule is None:
                what = getattr(n.target, "__name__", str(n.target))
                where = getattr(n.target, "__module__", None) or "tensor method"
                raise ExportError(f"operation `{n.name}` ({where}.{what}) has no LayerForge "
                                  "block: rewrite it with supported layers (see docs/export.md)")
            rule(b, n)
        elif n.op == "get_attr":
            raise ExportError(f"the module uses the tensor `{n.target}` directly; LayerForge "
                              "blocks hold all weights, so this has no block")
        elif n.op == "output":
            outs = n.args[0] if isinstance(n.args[0], tuple | list) else (n.args[0],)
            for i, o in enumerate(outs):
                src = b.tensor(o, "output")
                hint = "out" if len(outs) == 1 else f"out{i}"
                outputs.append(b.add(hint, "Output", {}, [src]))
    graph = Graph(nodes=b.nodes, edges=b.edges)
    analysis = analyze_graph(graph, "model")
    if not analysis.ok:
        raise ExportError("the imported graph has problems: " + str(analysis.errors[0]))
    compiled = compile_graph(graph, "model", seed, analysis)
    for nid, (orig, suffix) in b.sources.items():
        state = orig.state_dict()
        if not state:
            continue  # nothing to carry over; the block may compile to a plain operation
        target = compiled.get_submodule(nid + suffix)
        try:
            target.load_state_dict(state, strict=True)
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0]
            raise ExportError(f"the weights of `{nid}` do not fit its block: {first}") from None
    compiled.eval()
    with torch.no_grad():
        ref, got = module(*xs), compiled(*xs)
    refs = ref if isinstance(ref, tuple | list) else (ref,)
    gots = got if isinstance(got, tuple) else (got,)
    diff = max(float((r - g).abs().max()) if r.numel() else 0.0
               for r, g in zip(refs, gots, strict=True))
    if not diff <= 1e-5:
        raise ExportError(f"the imported graph does not reproduce the module (outputs differ "
                          f"by {diff:.3g}); this is a bug in the importer, please report it")
    apply_layout(graph)
    project = Project(name=make_identifier(name, fallback="imported"), graphs={"model": graph})
    msgs = [f"imported {len(graph.nodes)} blocks ({analysis.total_params:,} parameters); "
            f"outputs match the module (max difference {diff:.2g})"]
    return ImportResult(project, compiled.state_dict(), diff, msgs)


def _call_module(b: _Builder, n) -> None:
    m = b.gm.get_submodule(n.target)
    rule = map_module(m, str(n.target), n)
    block = get_block(rule.block)
    ports = block.input_ports(block.resolve(rule.params).values)
    args = list(n.args)
    if len(ports) > 1:
        # e.g. a masked layer's (x, ids) or cross-attention's (x, memory, ids): in port order
        if len(args) != len(ports) or n.kwargs:
            raise ExportError(f"layer `{n.target}` ({type(m).__name__}) is called with "
                              f"{len(args) + len(n.kwargs)} arguments but its block "
                              f"{rule.block} takes {len(ports)}: {', '.join(ports)}, in that "
                              "order and by position")
        srcs = [b.tensor(a, n.target) for a in args]
    else:
        srcs = [b.tensor(args[0] if args else None, n.target)]
        for extra in args[1:]:  # attention may be called as attn(x, x, x)
            if extra is not args[0]:
                raise ExportError(f"layer `{n.target}` ({type(m).__name__}) is called with "
                                  "different query, key and value; only self-attention has "
                                  "a block")
    if rule.block == "Embedding":
        feed = next(x for x in b.nodes if x.id == srcs[0])
        vocab = feed.params.get("vocab") if feed.type == "Input" else None
        if vocab != m.num_embeddings:
            raise ExportError(f"layer `{n.target}` (Embedding) has {m.num_embeddings} token "
                              f"ids but its input's vocab is {vocab}: pass --vocab "
                              f"{m.num_embeddings} (an Embedding must read an Input directly)")
    nid = b.add(str(n.target), rule.block, rule.params, srcs, ports)
    b.sources[nid] = (rule.weights_from or m, rule.suffix)
    b.value[n] = ("tuple", nid, rule.block) if rule.returns_tuple else nid


__all__ = ["ImportResult", "import_module", "load_callable", "trace"]
