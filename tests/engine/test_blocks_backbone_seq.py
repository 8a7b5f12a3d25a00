"""Blocks that ConvNeXt and ViT backbones need, against real PyTorch: Linear per position,
channels-first LayerNorm, LayerScale, StochasticDepth, ClassToken, TakeToken and the
transformer layer's layer_norm_eps."""

import inspect
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from engine.blocks import get_block
from engine.blocks import modules as m
from engine.blocks.base import ShapeError, TensorSpec
from tests.engine.blockcheck import check_block

FEW = settings(max_examples=25, deadline=None)
dims = st.one_of(st.none(), st.integers(1, 5))  # None: a variable length


def _module(type_name, raw, ins):
    block = get_block(type_name)
    return block.build(block.resolve(raw).values, ins)


@FEW
@given(lead=st.lists(dims, max_size=3), f=st.integers(1, 16), out=st.integers(1, 16),
       bias=st.booleans())
def test_linear_per_position_matches_torch(lead, f, out, bias):
    check_block("Linear", {"out_features": out, "bias": bias, "per_position": True},
                [TensorSpec((*lead, f))])


def test_linear_per_position_is_a_pointwise_convolution():
    torch.manual_seed(0)
    lin = _module("Linear", {"out_features": 6, "per_position": True}, [TensorSpec((4, 4, 3))])
    conv = nn.Conv2d(3, 6, 1)
    conv.weight.data = lin.weight.data[:, :, None, None].clone()
    conv.bias.data = lin.bias.data.clone()
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(lin(x.permute(0, 2, 3, 1)), conv(x).permute(0, 2, 3, 1))


def test_linear_on_image_names_both_fixes():
    with pytest.raises(ShapeError, match="insert Flatten before it .*turn on per_position"):
        check_block("Linear", {"out_features": 10}, [TensorSpec((16, 5, 5))])


@FEW
@given(c=st.integers(1, 8), spatial=st.lists(dims, max_size=2), affine=st.booleans())
def test_channels_first_layernorm_matches_torch(c, spatial, affine):
    check_block("LayerNorm", {"channels_first": True, "elementwise_affine": affine},
                [TensorSpec((c, *spatial))])


def test_channels_first_layernorm_normalises_each_pixel_over_channels():
    torch.manual_seed(0)
    norm = _module("LayerNorm", {"channels_first": True, "eps": 1e-6}, [TensorSpec((5, 3, 4))])
    nn.init.normal_(norm.weight)
    nn.init.normal_(norm.bias)
    x = torch.randn(2, 5, 3, 4)
    want = nn.functional.layer_norm(x.permute(0, 2, 3, 1), (5,), norm.weight, norm.bias, 1e-6)
    torch.testing.assert_close(norm(x), want.permute(0, 3, 1, 2))
    assert list(norm.state_dict()) == ["weight", "bias"]


def test_channels_first_layernorm_needs_known_channels():
    with pytest.raises(ShapeError, match="needs a fixed number of channels"):
        check_block("LayerNorm", {"channels_first": True}, [TensorSpec((None, 8))])


@FEW
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       axis=st.sampled_from(["last", "first"]), init=st.sampled_from([1e-6, 0.1, 1.0]))
def test_layer_scale_matches_torch(shape, axis, init):
    check_block("LayerScale", {"axis": axis, "init": init}, [TensorSpec(tuple(shape))])


@pytest.mark.parametrize(("axis", "shape", "view"), [
    ("last", (4, 3, 6), (1, 1, 1, 6)),
    ("first", (6, 3, 4), (1, 6, 1, 1)),
    ("last", (7, 6), (1, 1, 6)),
])
def test_layer_scale_multiplies_the_chosen_axis(axis, shape, view):
    scale = _module("LayerScale", {"axis": axis, "init": 0.5}, [TensorSpec(shape)])
    assert torch.equal(scale.gamma, torch.full((6,), 0.5))
    nn.init.normal_(scale.gamma)
    x = torch.randn(2, *shape)
    torch.testing.assert_close(scale(x), x * scale.gamma.reshape(view))


def test_layer_scale_on_a_variable_channel_axis_says_so():
    with pytest.raises(ShapeError, match="needs a fixed number of channels"):
        check_block("LayerScale", {"axis": "last"}, [TensorSpec((4, None))])
    check_block("LayerScale", {"axis": "first"}, [TensorSpec((4, None))])


@FEW
@given(shape=st.lists(st.integers(1, 5), max_size=3), p=st.floats(0, 0.99))
def test_stochastic_depth_matches_torch(shape, p):
    check_block("StochasticDepth", {"p": p}, [TensorSpec(tuple(shape))])


def test_stochastic_depth_drops_whole_samples_while_training_only():
    torch.manual_seed(0)
    drop = _module("StochasticDepth", {"p": 0.5}, [TensorSpec((3, 4, 4))])
    x = torch.rand(400, 3, 4, 4) + 1.0
    y = drop.train()(x)
    flat = (y / x).reshape(400, -1)
    kept = flat[:, 0] > 0
    assert torch.equal(flat, kept[:, None].float().expand_as(flat) * 2.0)  # all or nothing
    assert 150 < int(kept.sum()) < 250
    assert torch.equal(drop.eval()(x), x)
    zero = _module("StochasticDepth", {"p": 0.0}, [TensorSpec((3,))]).train()
    assert torch.equal(zero(x), x)


@FEW
@given(t=dims, d=st.integers(1, 9))
def test_class_token_matches_torch(t, d):
    check_block("ClassToken", {}, [TensorSpec((t, d))])


def test_class_token_goes_first_and_keeps_the_sequence():
    torch.manual_seed(0)
    token = _module("ClassToken", {}, [TensorSpec((3, 4))])
    assert list(token.state_dict()) == ["token"] and token.token.shape == (1, 1, 4)
    x = torch.randn(2, 3, 4)
    y = token(x)
    assert y.shape == (2, 4, 4)
    assert torch.equal(y[:, 0], token.token[0].expand(2, 4))
    assert torch.equal(y[:, 1:], x)
    assert get_block("ClassToken").infer({}, [TensorSpec((196, 768))]).shape == (197, 768)


def test_class_token_on_an_image_asks_for_reshape():
    with pytest.raises(ShapeError, match=r"Class token expects a sequence .*: insert Reshape"):
        check_block("ClassToken", {}, [TensorSpec((3, 8, 8))])


@FEW
@given(t=st.integers(1, 6), d=st.integers(1, 5), data=st.data())
def test_take_token_matches_torch(t, d, data):
    index = data.draw(st.integers(-t, t - 1))
    check_block("TakeToken", {"index": index}, [TensorSpec((t, d))])


@pytest.mark.parametrize("index", [0, -1])
def test_take_token_on_a_variable_length_takes_either_end(index):
    check_block("TakeToken", {"index": index}, [TensorSpec((None, 3))])


def test_take_token_gives_the_chosen_step():
    block = get_block("TakeToken")
    p = block.resolve({"index": 2}).values
    from torch import fx

    g = fx.Graph()
    x = g.placeholder("x")
    g.output(block.emit(g, "take", p, [x], [TensorSpec((5, 3))]))
    gm = fx.GraphModule(nn.Module(), g)
    seq = torch.randn(2, 5, 3)
    assert torch.equal(gm(seq), seq[:, 2])
    assert "select(1, 2)" in gm.code


@pytest.mark.parametrize(("raw", "spec", "needle"), [
    ({"index": 5}, TensorSpec((5, 3)), r"index 5 is outside the sequence \[N, 5, 3\] of 5 "
                                       "steps: choose an index from 0 to 4, or -1"),
    ({"index": -6}, TensorSpec((5, 3)), "outside the sequence"),
    ({"index": 2}, TensorSpec((None, 3)), "may be past the end .*use 0 .* or -1"),
    ({}, TensorSpec((3, 8, 8)), r"expects a sequence \[N, T, D\] .*insert Reshape"),
    ({}, TensorSpec((8,)), r"gets \[N, 8\]: insert an Embedding \(token ids\) or a Reshape"),
    ({}, TensorSpec(()), "it has no steps, so remove it"),
])
def test_take_token_rejections_say_why(raw, spec, needle):
    with pytest.raises(ShapeError, match=needle):
        check_block("TakeToken", raw, [spec])


def test_transformer_layer_takes_layer_norm_eps():
    layer = _module("TransformerEncoderLayer", {"nhead": 2, "layer_norm_eps": 1e-12,
                                                "norm_first": True}, [TensorSpec((5, 8))])
    assert layer.norm1.eps == layer.norm2.eps == 1e-12
    default = _module("TransformerEncoderLayer", {"nhead": 2}, [TensorSpec((5, 8))])
    assert default.norm1.eps == 1e-5


@pytest.mark.parametrize(("type_name", "raw", "want"), [
    ("Linear", {"out_features": 384, "per_position": True}, "384, per position"),
    ("LayerNorm", {"channels_first": True}, "channels first"),
    ("LayerNorm", {}, ""),
    ("LayerScale", {}, "1e-06, last"),
    ("StochasticDepth", {"p": 0.2}, "p=0.2"),
    ("TakeToken", {}, "first"),
    ("TakeToken", {"index": -1}, "last"),
    ("TakeToken", {"index": 3}, "#3"),
])
def test_summary_names_the_key_params(type_name, raw, want):
    block = get_block(type_name)
    assert block.summary(block.resolve(raw).values) == want


@pytest.mark.parametrize(("type_name", "raw"), [
    ("LayerScale", {"axis": "middle"}),
    ("LayerScale", {"init": -1.0}),
    ("StochasticDepth", {"p": 1.0}),
    ("TakeToken", {"index": 10**6}),
    ("TransformerEncoderLayer", {"layer_norm_eps": 0.0}),
    ("Linear", {"per_position": "yes"}),
])
def test_resolve_rejects_absurd_params(type_name, raw):
    res = get_block(type_name).resolve(raw)
    assert res.errors and list(raw)[0] in res.errors[0]


SELF_CONTAINED = [
    (m.ChannelLayerNorm, (4, 1e-6, True), (2, 4, 3, 3)),
    (m.LayerScale, (4, 0.5, "first"), (2, 4, 3, 3)),
    (m.LayerScale, (4, 0.5, "last"), (2, 3, 3, 4)),
    (m.StochasticDepth, (0.3,), (2, 4, 3)),
    (m.ClassToken, (4,), (2, 5, 4)),
]


@pytest.mark.parametrize(("cls", "args", "shape"), SELF_CONTAINED,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(SELF_CONTAINED)])
def test_module_source_is_self_contained(cls, args, shape):
    namespace = {"torch": torch, "nn": nn, "math": math}
    exec(inspect.getsource(cls), namespace)
    torch.manual_seed(0)
    original = cls(*args).eval()
    copy = namespace[cls.__name__](*args).eval()
    copy.load_state_dict(original.state_dict())
    x = torch.randn(*shape)
    with torch.no_grad():
        torch.testing.assert_close(copy(x), original(x), rtol=0, atol=0)


@pytest.mark.parametrize(("cls", "args"), [(c, a) for c, a, _ in SELF_CONTAINED])
def test_module_keeps_its_constructor_arguments(cls, args):
    """Each argument is an attribute of the same name, so code export can rebuild it."""
    mod = cls(*args)
    names = [n for n in inspect.signature(cls.__init__).parameters if n != "self"]
    assert tuple(getattr(mod, n) for n in names) == args
