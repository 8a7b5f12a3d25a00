"""Checks one block's analytic rule against the real PyTorch module it builds."""

from __future__ import annotations

from typing import Any

import torch
from torch import fx

from engine.blocks import get_block
from engine.blocks.base import ShapeError, TensorSpec

VAR_LEN = 5  # length used for a variable (None) dimension when running the module


def concrete(spec: TensorSpec, batch: int) -> torch.Tensor:
    shape = (batch,) + tuple(VAR_LEN if d is None else d for d in spec.shape)
    if spec.dtype == "long":
        return torch.randint(0, spec.vocab or 1, shape)
    return torch.randn(shape)


def check_block(type_name: str, raw: dict[str, Any], ins: list[TensorSpec], batch: int = 2) -> None:
    """Assert that inferred shape and parameter count equal what PyTorch produces.

    Raises ShapeError when the rule rejects the inputs (callers decide whether that was
    expected); any mismatch with PyTorch is an AssertionError.
    """
    block = get_block(type_name)
    assert block is not None, type_name
    res = block.resolve(raw)
    assert not res.errors, res.errors
    p = res.values
    out = block.infer(p, ins)
    g = fx.Graph()
    root = torch.nn.Module()
    args = [g.placeholder(f"x{i}") for i in range(len(ins))]
    mod = block.build(p, ins)
    if mod is not None:
        root.add_module("blk", mod)
    node = block.emit(g, "blk", p, args, ins)
    g.output(node)
    gm = fx.GraphModule(root, g)
    gm.eval()
    with torch.no_grad():
        y = gm(*[concrete(s, batch) for s in ins])
    assert y.shape[0] == batch, f"{type_name}: batch dimension changed to {y.shape[0]}"
    got = tuple(y.shape[1:])
    assert len(got) == len(out.shape), f"{type_name} {p} {ins}: inferred {out}, torch {got}"
    for want, have in zip(out.shape, got, strict=True):
        if want is not None:
            assert want == have, f"{type_name} {p} {[str(s) for s in ins]}: inferred {out}, torch {got}"
    n_params = sum(t.numel() for t in gm.parameters())
    assert n_params == block.param_count(p, ins), (
        f"{type_name} {p}: inferred {block.param_count(p, ins)} params, torch {n_params}"
    )
    assert (out.dtype == "long") == (y.dtype == torch.long)


__all__ = ["ShapeError", "check_block", "concrete"]
