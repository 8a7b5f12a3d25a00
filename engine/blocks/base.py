"""What a block is: typed parameters, ports, an analytic shape rule, and a PyTorch builder.

Shape rules are pure Python and never import torch (design.md section 2: they cost
microseconds, a meta-device forward pass costs hundreds of milliseconds). ``build`` and
``emit`` import torch lazily so the editor can start without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from engine.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from torch import fx, nn


class ShapeError(UserError):
    """The block cannot accept its inputs. The message is one sentence for the user."""


class ParamError(UserError):
    """A parameter value is of the wrong type or out of range."""


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """A tensor's per-sample shape (the batch dimension N is implicit) and element type.

    A ``None`` dimension has a variable length (a sequence of any length, shown as T).
    ``vocab`` is the number of distinct token ids for integer inputs (an Embedding's size).
    """

    shape: tuple[int | None, ...]
    dtype: str = "float"  # "float" or "long"
    vocab: int | None = None

    def numel(self) -> int:
        """Elements per sample; a variable dimension counts as one step."""
        n = 1
        for d in self.shape:
            n *= d if d is not None else 1
        return n

    def __str__(self) -> str:
        dims = ", ".join("T" if d is None else str(d) for d in self.shape)
        return f"[N, {dims}]" if dims else "[N]"


@dataclass(frozen=True)
class Param:
    """A typed block parameter. Kinds:

    int, float, bool, str; ``choice`` (one of ``choices``); ``size`` (an int or a list of
    ``length`` ints, normalised to a tuple); ``ints`` (a list of ints of any length).
    """

    name: str
    kind: str
    default: Any
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    length: int | None = None
    label: str = ""

    def check(self, value: Any) -> Any:
        """Return the normalised value, or raise ParamError with a sentence."""
        k = self.kind
        if k == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise ParamError(f"{self.name} must be a whole number, not {value!r}")
            self._range(value)
            return value
        if k == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParamError(f"{self.name} must be a number, not {value!r}")
            if not math.isfinite(value):
                raise ParamError(f"{self.name} must be a finite number")
            self._range(value)
            return float(value)
        if k == "bool":
            if not isinstance(value, bool):
                raise ParamError(f"{self.name} must be true or false, not {value!r}")
            return value
        if k == "choice":
            if value not in self.choices:
                raise ParamError(f"{self.name} must be one of {', '.join(self.choices)}, not {value!r}")
            return value
        if k == "str":
            if not isinstance(value, str) or len(value) > 200:
                raise ParamError(f"{self.name} must be a short text")
            return value
        if k == "size":
            if isinstance(value, int) and not isinstance(value, bool):
                value = [value] * (self.length or 1)
            return self._int_list(value, self.length)
        if k == "ints":
            return self._int_list(value, None)
        raise ParamError(f"{self.name} has an unknown kind {k}")  # pragma: no cover

    def _range(self, v: float) -> None:
        if self.min is not None and v < self.min:
            raise ParamError(f"{self.name} must be at least {_fmt(self.min)}, not {_fmt(v)}")
        if self.max is not None and v > self.max:
            raise ParamError(f"{self.name} must be at most {_fmt(self.max)}, not {_fmt(v)}")

    def _int_list(self, value: Any, length: int | None) -> tuple[int, ...]:
        if not isinstance(value, list | tuple) or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in value
        ):
            raise ParamError(f"{self.name} must be a list of whole numbers, not {value!r}")
        if length is not None and len(value) != length:
            raise ParamError(f"{self.name} needs {length} numbers, not {len(value)}")
        if len(value) > 8:
            raise ParamError(f"{self.name} has too many numbers ({len(value)}; at most 8)")
        for x in value:
            self._range(x)
        return tuple(value)


def _fmt(v: float) -> str:
    if isinstance(v, int):  # exact; float(10**400) would overflow
        digits = str(abs(v))
        if len(digits) <= 15:
            return str(v)
        return f"{'-' if v < 0 else ''}{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


@dataclass(slots=True)
class Resolved:
    """A node's parameters with defaults filled in, or the errors that prevented it."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class Block:
    """Base class of every block type. Subclasses are stateless singletons in the catalog."""

    type: ClassVar[str] = ""
    family: ClassVar[str] = ""
    title: ClassVar[str] = ""
    doc: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    has_output: ClassVar[bool] = True
    #: Why this block cannot be exported to ONNX, or None if it can.
    onnx_issue: ClassVar[str | None] = None

    # -- parameters ------------------------------------------------------------------
    def resolve(self, raw: dict[str, Any]) -> Resolved:
        out = Resolved()
        known = {p.name for p in self.params}
        for key in raw:
            if key not in known:
                out.errors.append(f"{self.type} has no parameter {key!r}")
        for p in self.params:
            try:
                out.values[p.name] = p.check(raw[p.name]) if p.name in raw else p.check(p.default)
            except ParamError as e:
                out.errors.append(str(e))
        return out

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    # -- ports -----------------------------------------------------------------------
    def input_ports(self, p: dict[str, Any]) -> tuple[str, ...]:
        return ("in",)

    # -- analysis --------------------------------------------------------------------
    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        raise NotImplementedError

    def param_count(self, p: dict[str, Any], ins: list[TensorSpec]) -> int:
        return 0

    def flops(self, p: dict[str, Any], ins: list[TensorSpec], out: TensorSpec) -> int:
        """Floating-point operations per sample (a multiply-add counts as two)."""
        return out.numel()

    def summary(self, p: dict[str, Any]) -> str:
        """A few words of key params for the canvas, e.g. ``64, k3 s1``."""
        return ""

    def onnx_problem(self, p: dict[str, Any], ins: list[TensorSpec]) -> str | None:
        """Why this node, with these params and inputs, cannot be exported to ONNX."""
        return self.onnx_issue

    # -- building --------------------------------------------------------------------
    def build(self, p: dict[str, Any], ins: list[TensorSpec]) -> nn.Module | None:
        """The nn.Module holding this block's weights, or None for functional blocks."""
        return None

    def emit(
        self, g: fx.Graph, name: str, p: dict[str, Any], args: list[fx.Node], ins: list[TensorSpec]
    ) -> fx.Node:
        """Add this block's operation to ``g``. Module blocks call their submodule."""
        return g.create_node("call_module", name, tuple(args), {}, name=name)


# -- helpers shared by the rules ------------------------------------------------------


def one_input(block: Block, ins: list[TensorSpec]) -> TensorSpec:
    (x,) = ins
    return x


def need_float(block: Block, x: TensorSpec) -> None:
    if x.dtype != "float":
        raise ShapeError(
            f"{block.title or block.type} needs real-valued input but gets token ids {x}: "
            "insert an Embedding first"
        )


def need_rank(block: Block, x: TensorSpec, ranks: tuple[int, ...], what: str, fix: str = "") -> None:
    """Check the number of per-sample dimensions."""
    if len(x.shape) not in ranks:
        msg = f"{block.title or block.type} expects {what} but gets {x}"
        raise ShapeError(f"{msg}: {fix}" if fix else msg)


def need_known(block: Block, x: TensorSpec, axis: int, what: str) -> int:
    d = x.shape[axis]
    if d is None:
        raise ShapeError(
            f"{block.title or block.type} needs a fixed {what} but the input {x} has a variable one"
        )
    return d


def window_out(size: int | None, kernel: int, stride: int, pad: int, dilation: int = 1,
               ceil: bool = False) -> int | None:
    """Output length of a convolution or pooling window along one axis (None stays None)."""
    if size is None:
        return None
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    if ceil:
        n = -(-span // stride) + 1
        if (n - 1) * stride >= size + pad:
            n -= 1
        return n
    return span // stride + 1
