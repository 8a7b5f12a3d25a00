"""What every zoo architecture shares: building a graph of our blocks, and mapping keys.

A zoo module (``resnet.py``, ``vit.py``...) builds its backbone with :class:`GraphBuilder`
(``add`` a block, wired by port, its output shape known at once through the block's
analytic rule) and the conv-norm-activation helpers here, and maps a Hugging Face state
dict onto the graph's own keys with :class:`KeyMap`, finishing with :func:`check_state`,
which names every missing, unexpected or wrongly shaped tensor.

Nothing heavy is imported at module level: torch is imported inside the functions that
need it, so the app can list the zoo before torch loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.blocks import get_block
from engine.blocks.base import TensorSpec
from engine.errors import UserError
from engine.naming import id_problem
from engine.project import Edge, Graph, Node

__all__ = [
    "GraphBuilder",
    "KeyMap",
    "MappingError",
    "act_type",
    "check_state",
    "conv_bn_act",
    "expected_state",
    "image_size",
    "pooled_features",
    "tf_pad",
    "tf_same_padding",
]

#: how many names an error lists before "and N more"
_SHOWN = 5


class MappingError(UserError):
    """A checkpoint's tensors do not fit the graph: one is missing, unexpected or of the
    wrong shape. The message names the tensors and the architecture."""


def _names(keys: Iterable[str]) -> str:
    keys = sorted(keys)
    shown = ", ".join(repr(k) for k in keys[:_SHOWN])
    return shown + (f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else "")


def _shape_text(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def check_state(mapped: Mapping[str, Any], expected_shapes: Mapping[str, Sequence[int]],
                arch: str, sources: Mapping[str, str] | None = None) -> None:
    """Raise :class:`MappingError` unless ``mapped`` has exactly the keys of
    ``expected_shapes``, each tensor of the expected shape.

    ``mapped`` holds tensors (anything with ``.shape``) under the graph's own keys;
    ``expected_shapes`` is what the compiled graph's ``state_dict`` holds (see
    :func:`expected_state`); ``sources`` maps a graph key to the checkpoint's name for it,
    so that a wrongly shaped tensor is named as the checkpoint names it.
    """
    missing = set(expected_shapes) - set(mapped)
    if missing:
        raise MappingError(
            f"the {arch} checkpoint has no tensor for {_names(missing)}: the checkpoint does "
            "not match this architecture or its configuration; pick the matching zoo entry"
        )
    extra = set(mapped) - set(expected_shapes)
    if extra:
        raise MappingError(
            f"the {arch} weights have tensors the graph does not use: {_names(extra)}; the "
            "checkpoint does not match this architecture or its configuration"
        )
    for key in sorted(expected_shapes):
        want = tuple(expected_shapes[key])
        have = tuple(mapped[key].shape)
        if want != have:
            src = (sources or {}).get(key)
            what = f"{src!r} (block {key!r})" if src else f"for {key!r}"
            raise MappingError(
                f"the {arch} tensor {what} has shape {_shape_text(have)} but the graph "
                f"needs {_shape_text(want)}: the checkpoint was made with another "
                "configuration; use the config.json that came with it"
            )


def expected_state(graph: Graph, name: str = "backbone") -> dict[str, tuple[int, ...]]:
    """The shape of every tensor in ``compile_graph(graph).state_dict()``, parameters and
    buffers alike, found without allocating weights (modules are built on torch's meta
    device)."""
    import torch

    from engine.shapes import analyze_graph

    a = analyze_graph(graph, name)
    if not a.ok:
        raise MappingError(f"the {name} graph has errors: {a.errors[0]}")
    s = a.structure
    out: dict[str, tuple[int, ...]] = {}
    with torch.device("meta"):
        for nid in s.order:
            if nid not in s.live:
                continue
            module = s.blocks[nid].build(s.params[nid], a.nodes[nid].ins)
            if module is None:
                continue
            for key, t in module.state_dict().items():
                out[f"{nid}.{key}"] = tuple(t.shape)
    return out


class KeyMap:
    """Renames a checkpoint's tensors to the graph's keys, remembering which were used.

    ``take`` one tensor, or a whole module (``conv``, ``bn``, ``linear``, ``module``) by its
    checkpoint prefix and node id; then :meth:`finish` raises :class:`MappingError` naming
    any tensor that was asked for but absent, or left over, and returns the mapped dict.
    """

    def __init__(self, state: Mapping[str, Any], arch: str) -> None:
        self.state = state
        self.arch = arch
        self.out: dict[str, Any] = {}
        self.sources: dict[str, str] = {}  # graph key -> checkpoint name
        self.used: set[str] = set()
        self.absent: list[str] = []

    def take(self, src: str, dst: str, optional: bool = False) -> None:
        """Map checkpoint tensor ``src`` to graph key ``dst``."""
        if src not in self.state:
            if not optional:
                self.absent.append(src)
            return
        if dst in self.out:
            raise ValueError(f"graph key {dst} mapped twice")  # a defect of the zoo module
        self.out[dst] = self.state[src]
        self.sources[dst] = src
        self.used.add(src)

    def names(self, src: str, dst: str, names: Iterable[str]) -> None:
        """Map ``src.NAME`` to ``dst.NAME`` for each name."""
        for n in names:
            self.take(f"{src}.{n}" if src else n, f"{dst}.{n}")

    def conv(self, src: str, dst: str, bias: bool = False) -> None:
        self.names(src, dst, ("weight", "bias") if bias else ("weight",))

    def linear(self, src: str, dst: str, bias: bool = True) -> None:
        self.conv(src, dst, bias)

    def bn(self, src: str, dst: str) -> None:
        """A BatchNorm's weight, bias and running statistics (``num_batches_tracked`` is
        taken when the checkpoint has it; saved models often drop it)."""
        self.names(src, dst, ("weight", "bias", "running_mean", "running_var"))
        self.take(f"{src}.num_batches_tracked", f"{dst}.num_batches_tracked", optional=True)

    def layer_norm(self, src: str, dst: str) -> None:
        self.names(src, dst, ("weight", "bias"))

    def module(self, src: str, dst: str) -> None:
        """Every checkpoint tensor under ``src.`` to the same path under ``dst.``."""
        head = src + "."
        found = [k for k in self.state if k.startswith(head)]
        if not found:
            self.absent.append(src + ".*")
        for k in found:
            self.take(k, dst + "." + k[len(head):])

    def finish(self, expected: Mapping[str, Sequence[int]] | None = None) -> dict[str, Any]:
        """The mapped tensors; raises :class:`MappingError` for absent or unused checkpoint
        tensors, and (with ``expected``, see :func:`expected_state`) any key or shape that
        does not fit the graph. Buffers the checkpoint lacks but the graph has with a
        known value (``num_batches_tracked``) are filled in."""
        if self.absent:
            raise MappingError(
                f"the {self.arch} checkpoint has no tensor {_names(self.absent)}: it does not "
                "match this architecture or its configuration; pick the matching zoo entry"
            )
        left = set(self.state) - self.used
        if left:
            raise MappingError(
                f"the {self.arch} checkpoint has tensors this architecture does not use: "
                f"{_names(left)}; it does not match this configuration (check the prefix "
                "and the config.json)"
            )
        if expected is not None:
            import torch

            for key in expected:
                if key.endswith(".num_batches_tracked") and key not in self.out:
                    self.out[key] = torch.tensor(0, dtype=torch.long)
            check_state(self.out, expected, self.arch, self.sources)
        return self.out


class GraphBuilder:
    """Builds a :class:`Graph` block by block, knowing each block's output shape.

    ``add(type, id, params, inputs=[...])`` wires the sources to the block's input ports
    in order and returns the id, so calls chain: ``x = b.add("ReLU", "relu", inputs=[x])``.
    Parameters are checked by the block's rule at once; a mistake in a zoo module raises
    ValueError (a defect, not a user error).
    """

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.specs: dict[str, TensorSpec | None] = {}

    def add(self, type: str, id: str, params: dict[str, Any] | None = None,
            inputs: Sequence[str] = (), label: str = "") -> str:
        block = get_block(type)
        if block is None:
            raise ValueError(f"unknown block type {type}")
        problem = id_problem(id)
        if problem or id in self.specs:
            raise ValueError(f"bad or repeated node id {id!r}: {problem or 'repeated'}")
        params = dict(params or {})
        res = block.resolve(params)
        if res.errors:
            raise ValueError(f"{id}: {'; '.join(res.errors)}")
        ports = block.input_ports(res.values)
        if len(ports) != len(inputs):
            raise ValueError(f"{id}: {type} takes {len(ports)} inputs, not {len(inputs)}")
        ins = [self.specs[s] for s in inputs]
        spec = None
        if block.has_output:
            if any(x is None for x in ins):  # pragma: no cover - sources always have outputs
                raise ValueError(f"{id}: a source has no output")
            spec = block.infer(res.values, ins)  # type: ignore[arg-type]
        self.nodes.append(Node(id=id, type=type, params=params, label=label))
        for src, port in zip(inputs, ports, strict=True):
            self.edges.append(Edge(src=src, dst=id, dst_port=port))
        self.specs[id] = spec
        return id

    def spec(self, id: str) -> TensorSpec:
        """The output shape of block ``id`` (per sample, without the batch)."""
        s = self.specs[id]
        assert s is not None, id
        return s

    def channels(self, id: str) -> int:
        c = self.spec(id).shape[0]
        assert c is not None
        return c

    def graph(self, layout: bool = True) -> Graph:
        """The graph; laid out top to bottom with ``engine.layout`` unless ``layout`` is
        False (key mapping does not need positions)."""
        g = Graph(flow="down", nodes=list(self.nodes), edges=list(self.edges))
        if layout:
            from engine.layout import apply_layout

            apply_layout(g, "down")
        return g


#: Hugging Face ``hidden_act`` names -> our activation block types
ACTIVATIONS = {"relu": "ReLU", "relu6": "ReLU6", "swish": "SiLU", "silu": "SiLU",
               "gelu": "GELU", "hardswish": "Hardswish", "hard_swish": "Hardswish",
               "sigmoid": "Sigmoid", "tanh": "Tanh"}


def act_type(name: str, arch: str) -> str:
    """Our block type for a config's ``hidden_act``, or a :class:`MappingError` naming it."""
    block = ACTIVATIONS.get(str(name).lower())
    if block is None:
        known = ", ".join(sorted(ACTIVATIONS))
        raise MappingError(f"the {arch} config's hidden_act {name!r} has no block here: "
                           f"use one of {known}")
    return block


def image_size(config: Mapping[str, Any], size: int | None) -> int:
    """The side of the input image: ``size``, else the config's ``image_size``, else 224."""
    if size is not None:
        return int(size)
    return int(config.get("image_size") or 224)


def tf_same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "SAME" padding along one axis: (before, after); the extra pixel goes
    after, so a stride-2 window is padded asymmetrically."""
    reach = dilation * (kernel - 1) + 1
    total = max(reach - (size % stride or stride), 0)
    return total // 2, total - total // 2


def tf_pad(b: GraphBuilder, src: str, kernel: int, stride: int,
           dilation: int = 1) -> tuple[int, int, int, int]:
    """TensorFlow "SAME" padding (left, right, top, bottom) for a convolution applied to
    the output of block ``src``; pass it as ``conv_bn_act(..., pad=...)``."""
    _, h, w = b.spec(src).shape
    assert h is not None and w is not None, src
    top, bottom = tf_same_padding(h, kernel, stride, dilation)
    left, right = tf_same_padding(w, kernel, stride, dilation)
    return left, right, top, bottom


def conv_bn_act(b: GraphBuilder, src: str, name: str, out_channels: int, kernel: int,
                stride: int = 1, padding: int | Sequence[int] | None = None, groups: int = 1,
                act: str | None = "ReLU", eps: float = 1e-5, momentum: float = 0.1,
                suffix: str = "", bias: bool = False, act_params: dict[str, Any] | None = None,
                pad: Sequence[int] | None = None, dilation: int = 1) -> str:
    """Conv2d -> BatchNorm2d -> activation, ids ``{name}_conv{suffix}``,
    ``{name}_bn{suffix}``, ``{name}_{act in lower case}{suffix}``; returns the last id.

    ``padding`` defaults to ``kernel // 2 * dilation`` (keeps the size at stride 1). ``pad`` (left,
    right, top, bottom) puts a ZeroPad2d ``{name}_pad{suffix}`` in front for asymmetric
    padding (TensorFlow "SAME" at stride 2), with the convolution's own padding 0.
    ``act=None`` leaves the activation out.
    """
    if pad is not None:
        left, right, top, bottom = pad
        if left == right and top == bottom:
            padding = [top, left]
        else:
            src = b.add("ZeroPad2d", f"{name}_pad{suffix}",
                        {"left": left, "right": right, "top": top, "bottom": bottom}, [src])
            padding = 0
    if padding is None:
        padding = kernel // 2 * dilation
    x = b.add("Conv2d", f"{name}_conv{suffix}", {
        "out_channels": out_channels, "kernel_size": kernel, "stride": stride,
        "padding": padding if isinstance(padding, int) else list(padding),
        "dilation": dilation, "groups": groups, "bias": bias}, [src])
    x = b.add("BatchNorm2d", f"{name}_bn{suffix}", {"eps": eps, "momentum": momentum}, [x])
    if act is not None:
        x = b.add(act, f"{name}_{act.lower()}{suffix}", act_params or {}, [x])
    return x


def pooled_features(b: GraphBuilder, src: str, pool: str = "pool",
                    flatten: str = "flatten", out: str = "features") -> str:
    """AdaptiveAvgPool2d(1) -> Flatten -> Output ``features`` [C]; returns the Output id."""
    x = b.add("AdaptiveAvgPool2d", pool, {"output_size": 1}, [src])
    x = b.add("Flatten", flatten, {}, [x])
    return b.add("Output", out, {}, [x])
