"""Blocks the convolutional backbones need (ZeroPad2d, ReLU6, Hardswish, broadcasting
Add/Multiply), checked against real PyTorch."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import fx, nn

from engine.blocks import get_block
from engine.blocks.base import ShapeError, TensorSpec
from tests.engine.blockcheck import VAR_LEN, check_block

FEW = settings(max_examples=30, deadline=None)


def _resolved(type_name, raw):
    res = get_block(type_name).resolve(raw)
    assert not res.errors, res.errors
    return res.values


def _run(type_name, raw, *xs):
    """The block's module or operation applied to real tensors."""
    block, p = get_block(type_name), _resolved(type_name, raw)
    ins = [TensorSpec(tuple(x.shape[1:])) for x in xs]
    g, root = fx.Graph(), nn.Module()
    args = [g.placeholder(f"x{i}") for i in range(len(xs))]
    mod = block.build(p, ins)
    if mod is not None:
        root.add_module("blk", mod)
    g.output(block.emit(g, "blk", p, args, ins))
    return fx.GraphModule(root, g)(*xs)


# -- ZeroPad2d ------------------------------------------------------------------------------


@FEW
@given(c=st.integers(1, 4), h=st.one_of(st.none(), st.integers(1, 6)),
       w=st.one_of(st.none(), st.integers(1, 6)), pads=st.lists(st.integers(0, 3), min_size=4,
                                                               max_size=4))
def test_zero_pad_shape_matches_torch(c, h, w, pads):
    raw = dict(zip(("left", "right", "top", "bottom"), pads, strict=True))
    check_block("ZeroPad2d", raw, [TensorSpec((c, h, w))])
    out = get_block("ZeroPad2d").infer(_resolved("ZeroPad2d", raw), [TensorSpec((c, h, w))])
    assert out.shape[1] == (None if h is None else h + pads[2] + pads[3])
    assert out.shape[2] == (None if w is None else w + pads[0] + pads[1])


def test_zero_pad_puts_zeros_on_the_sides_asked():
    x = torch.ones(1, 1, 2, 2)
    y = _run("ZeroPad2d", {"left": 0, "right": 1, "top": 2, "bottom": 0}, x)
    assert y.shape == (1, 1, 4, 3)
    assert y[0, 0, 2:, :2].eq(1).all() and y[0, 0, :2].eq(0).all() and y[0, 0, :, 2].eq(0).all()


def test_zero_pad_reads_on_the_canvas_and_costs_nothing():
    block = get_block("ZeroPad2d")
    p = _resolved("ZeroPad2d", {})
    assert block.summary(p) == "l0 r1 t0 b1"  # the default is TensorFlow's stride-2 "same"
    spec = TensorSpec((3, 8, 8))
    assert block.flops(p, [spec], block.infer(p, [spec])) == 0
    assert block.param_count(p, [spec]) == 0


@pytest.mark.parametrize(("spec", "needle"), [
    (TensorSpec((48,)), r"expects an image \[N, C, H, W\] but gets \[N, 48\]: insert Reshape "
                        r"to \[3, 4, 4\]"),
    (TensorSpec((4, 4)), "to add a channel dimension"),
    (TensorSpec((2, 3, 4, 4)), "insert Reshape or Flatten"),
])
def test_zero_pad_needs_an_image(spec, needle):
    with pytest.raises(ShapeError, match=needle):
        check_block("ZeroPad2d", {}, [spec])


@pytest.mark.parametrize("side", ["left", "right", "top", "bottom"])
def test_zero_pad_refuses_negative_or_huge_padding(side):
    assert get_block("ZeroPad2d").resolve({side: -1}).errors
    assert get_block("ZeroPad2d").resolve({side: 5000}).errors


# -- ReLU6 and Hardswish --------------------------------------------------------------------


@pytest.mark.parametrize(("type_name", "reference"), [
    ("ReLU6", torch.nn.functional.relu6), ("Hardswish", torch.nn.functional.hardswish),
])
def test_capped_activations_compute_what_torch_does(type_name, reference):
    x = torch.linspace(-10, 10, 41).reshape(1, 41)
    assert torch.equal(_run(type_name, {}, x), reference(x))
    check_block(type_name, {}, [TensorSpec((3, None))])
    with pytest.raises(ShapeError, match="insert an Embedding"):
        check_block(type_name, {}, [TensorSpec((4,), "long", 10)])


def test_relu6_caps_at_six():
    y = _run("ReLU6", {}, torch.tensor([[-1.0, 3.0, 7.0]]))
    assert y.tolist() == [[0.0, 3.0, 6.0]]


# -- broadcasting Add and Multiply ----------------------------------------------------------


@FEW
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), data=st.data(),
       op=st.sampled_from(["Add", "Multiply"]), n=st.integers(2, 4))
def test_merges_broadcast_like_torch(shape, data, op, n):
    ins = []
    for _ in range(n):
        ones = data.draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
        ins.append(TensorSpec(tuple(1 if o else d for o, d in zip(ones, shape, strict=True))))
    check_block(op, {"inputs": n}, ins)


def test_squeeze_excitation_gate_scales_every_position():
    x, gate = torch.randn(2, 8, 5, 5), torch.rand(2, 8, 1, 1)
    assert torch.equal(_run("Multiply", {}, x, gate), x * gate)
    out = get_block("Multiply").infer(_resolved("Multiply", {}),
                                      [TensorSpec((8, 5, 5)), TensorSpec((8, 1, 1))])
    assert out.shape == (8, 5, 5)


def test_a_variable_length_broadcasts_against_one():
    block, p = get_block("Add"), _resolved("Add", {})
    assert block.infer(p, [TensorSpec((4, None)), TensorSpec((4, 1))]).shape == (4, None)
    check_block("Add", {}, [TensorSpec((4, None)), TensorSpec((1, None))])
    assert VAR_LEN > 1
    with pytest.raises(ShapeError, match="of one shape"):
        block.infer(p, [TensorSpec((4, None)), TensorSpec((4, 6))])


@pytest.mark.parametrize(("op", "ins", "needle"), [
    ("Add", [TensorSpec((8, 4, 4)), TensorSpec((3, 4, 4))],
     r"Add needs inputs of one shape \(or of size 1 where they differ\) but in0 is "
     r"\[N, 8, 4, 4\] and in1 is \[N, 3, 4, 4\]: match them with a Linear or a 1x1 Conv2d"),
    ("Multiply", [TensorSpec((8, 4, 4)), TensorSpec((3, 1, 1))],
     "make the gate's size match, e.g. a 1x1 Conv2d to the image's channels"),
    ("Multiply", [TensorSpec((8, 4, 4)), TensorSpec((8,))],
     r"same number of dimensions with a Reshape \(e.g. \[C, 1, 1\]\)"),
])
def test_merges_that_cannot_broadcast_say_how_to_fix_it(op, ins, needle):
    with pytest.raises(ShapeError, match=needle):
        check_block(op, {"inputs": len(ins)}, ins)
