"""Element-wise activations and (log-)softmax."""

from __future__ import annotations

from typing import Any

from engine.blocks import register
from engine.blocks.base import Block, Param, ShapeError, TensorSpec, need_float, one_input


class _Activation(Block):
    family = "activation"
    #: the torch.nn class name built for this block
    module = ""
    flops_per_element = 1

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        need_float(self, x)
        return x

    def flops(self, p, ins, out) -> int:
        return self.flops_per_element * out.numel()

    def kwargs(self, p: dict[str, Any]) -> dict[str, Any]:
        return dict(p)

    def build(self, p, ins):
        from torch import nn

        return getattr(nn, self.module)(**self.kwargs(p))


def _activation(type_name: str, doc: str, params: tuple[Param, ...] = (), cost: int = 1) -> None:
    cls = type(type_name, (_Activation,), {
        "type": type_name, "title": type_name, "module": type_name, "doc": doc,
        "params": params, "flops_per_element": cost,
    })
    register(cls)


_activation("ReLU", "Rectified linear unit: max(0, x) element-wise. The usual default between "
            "layers; cheap and well behaved with He initialisation.")
_activation("LeakyReLU", "Like ReLU but lets a small slope through for negative inputs, so "
            "units never die completely.",
            (Param("negative_slope", "float", 0.01, "Slope for negative inputs.", min=0.0, max=1.0),))
_activation("GELU", "Gaussian error linear unit, the smooth ReLU used in transformers.",
            (Param("approximate", "choice", "none", "Use the tanh approximation.",
                   choices=("none", "tanh")),), cost=8)
_activation("SiLU", "Sigmoid linear unit (swish): x * sigmoid(x). Smooth, used in modern CNNs.",
            cost=5)
_activation("Sigmoid", "Squashes each value into (0, 1). Use at the end of a network that "
            "predicts probabilities of independent labels, or in gates.", cost=4)
_activation("Tanh", "Squashes each value into (-1, 1). Common at the end of a GAN generator "
            "whose images are scaled to [-1, 1].", cost=4)

_activation("ReLU6", "ReLU capped at 6: min(max(0, x), 6) element-wise. Used by MobileNet, "
            "whose activations stay in a range that low-precision arithmetic handles well.",
            cost=2)
_activation("Hardswish", "A cheap piecewise approximation of swish: x * ReLU6(x + 3) / 6. "
            "Used by MobileNetV3 where SiLU's exponential costs too much.", cost=4)


class _Normalizer(_Activation):
    params = (Param("dim", "int", -1, "Dimension to normalise over, counted without the batch "
                    "dimension (-1 is the last).", min=-8, max=7),)
    flops_per_element = 5

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = super().infer(p, ins)
        d = p["dim"]
        if not -len(x.shape) <= d < len(x.shape):
            raise ShapeError(f"{self.type} dim {d} does not exist in {x}")
        return x

    def kwargs(self, p: dict[str, Any]) -> dict[str, Any]:
        d = p["dim"]
        return {"dim": d + 1 if d >= 0 else d}


@register
class Softmax(_Normalizer):
    type = title = module = "Softmax"
    doc = ("Turns scores into probabilities that sum to one along a dimension. Do not put it "
           "before a classification loss: the loss applies it itself.")


@register
class LogSoftmax(_Normalizer):
    type = title = module = "LogSoftmax"
    doc = "The logarithm of Softmax, computed stably; pair it with a negative log-likelihood loss."
