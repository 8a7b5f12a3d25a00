"""Activations, merges and reshapes against PyTorch."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.blocks import CATALOG
from engine.blocks.base import ShapeError, TensorSpec
from tests.engine.blockcheck import check_block

shapes = st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple)
ACTIVATIONS = [t for t, b in CATALOG.items() if b.family == "activation"]


@settings(max_examples=15, deadline=None)
@given(shape=shapes, data=st.data())
@pytest.mark.parametrize("type_name", ACTIVATIONS)
def test_activations_keep_shape(type_name, shape, data):
    params = {}
    if type_name in ("Softmax", "LogSoftmax"):
        params["dim"] = data.draw(st.integers(-len(shape), len(shape) - 1))
    check_block(type_name, params, [TensorSpec(shape)])


@settings(max_examples=30, deadline=None)
@given(shape=shapes, n=st.integers(2, 5), op=st.sampled_from(["Add", "Multiply"]))
def test_elementwise_merges(shape, n, op):
    check_block(op, {"inputs": n}, [TensorSpec(shape)] * n)


@settings(max_examples=40, deadline=None)
@given(base=shapes, data=st.data())
def test_concat(base, data):
    d = data.draw(st.integers(-len(base), len(base) - 1))
    sizes = data.draw(st.lists(st.integers(1, 5), min_size=2, max_size=4))
    ins = []
    for s in sizes:
        dims = list(base)
        dims[d] = s
        ins.append(TensorSpec(tuple(dims)))
    check_block("Concat", {"inputs": len(ins), "dim": d}, ins)


@settings(max_examples=30, deadline=None)
@given(shape=shapes, data=st.data())
def test_flatten(shape, data):
    check_block("Flatten", {"start_dim": data.draw(st.integers(0, len(shape) - 1))}, [TensorSpec(shape)])


@settings(max_examples=30, deadline=None)
@given(shape=shapes, data=st.data())
def test_reshape_and_permute(shape, data):
    n = 1
    for d in shape:
        n *= d
    target = data.draw(st.permutations(list(shape)))
    if data.draw(st.booleans()):
        target[0] = -1
    check_block("Reshape", {"shape": target}, [TensorSpec(shape)])
    check_block("Permute", {"dims": data.draw(st.permutations(range(len(shape))))}, [TensorSpec(shape)])


@settings(max_examples=20, deadline=None)
@given(c=st.integers(1, 4), h=st.integers(1, 6), w=st.integers(1, 6), s=st.integers(1, 3),
       mode=st.sampled_from(["nearest", "bilinear"]))
def test_upsample_images(c, h, w, s, mode):
    check_block("Upsample", {"scale_factor": s, "mode": mode}, [TensorSpec((c, h, w))])
    check_block("Upsample", {"scale_factor": s, "mode": "linear"}, [TensorSpec((c, w))])


@pytest.mark.parametrize(("type_name", "params", "ins", "needle"), [
    ("Add", {}, [TensorSpec((4,)), TensorSpec((5,))], "inputs of one shape"),
    ("Concat", {"dim": 0}, [TensorSpec((2, 3)), TensorSpec((2, 4))], "other dimensions equal"),
    ("Reshape", {"shape": [5, 5]}, [TensorSpec((24,))], "holds 25 elements"),
    ("Reshape", {"shape": [-1, 5]}, [TensorSpec((24,))], "cannot fit 24"),
    ("Permute", {"dims": [0, 0]}, [TensorSpec((2, 3))], "each of 0..1 once"),
    ("Flatten", {"start_dim": 3}, [TensorSpec((2, 3))], "past the last dimension"),
    ("Softmax", {"dim": 2}, [TensorSpec((4, 4))], "does not exist"),
    ("ReLU", {}, [TensorSpec((4,), "long", 10)], "insert an Embedding"),
    ("Upsample", {}, [TensorSpec((16,))], "expects an image"),
])
def test_rejections_say_why(type_name, params, ins, needle):
    with pytest.raises(ShapeError, match=needle):
        check_block(type_name, params, ins)


def test_every_block_has_docs_and_valid_defaults():
    for type_name, block in CATALOG.items():
        assert block.doc and block.title, type_name
        assert not block.resolve({}).errors, type_name
        for p in block.params:
            assert p.doc, f"{type_name}.{p.name} has no doc"
