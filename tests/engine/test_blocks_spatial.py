"""Convolution, pooling and normalisation blocks checked against real PyTorch."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import fx, nn

from engine.blocks import by_family, get_block
from engine.blocks.base import ShapeError, TensorSpec
from tests.engine.blockcheck import VAR_LEN, check_block

FEW = settings(max_examples=30, deadline=None)
SPATIAL = [b for fam in ("conv", "pool", "norm") for b in by_family()[fam]]
NUMERIC = [(b.type, p.name) for b in SPATIAL for p in b.params
           if p.kind in ("int", "float", "size", "ints")]


def _resolved(type_name, raw):
    res = get_block(type_name).resolve(raw)
    assert not res.errors, res.errors
    return res.values


def _infer(type_name, raw, spec):
    return get_block(type_name).infer(_resolved(type_name, raw), [spec])


def _maybe_var(draw, size, smallest):
    """A variable length (None) where the concrete test length still fits the window."""
    return None if smallest <= VAR_LEN and draw(st.booleans()) else size


# -- valid parameters -------------------------------------------------------------------------


@st.composite
def conv_cases(draw, nd, transposed=False):
    g = draw(st.integers(1, 3))
    cin, cout = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    axes = [draw(st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 2)))
            for _ in range(nd)]  # kernel, stride, dilation
    pads, sizes, ops = [], [], []
    for k, s, d in axes:
        reach = d * (k - 1) + 1
        if transposed:
            n = draw(st.integers(1, 5))
            op = draw(st.integers(0, max(s, d) - 1))
            # keep (n-1)*s - 2p + d(k-1) + op + 1 >= 1
            pad = draw(st.integers(0, min(2, ((n - 1) * s + reach - 1 + op) // 2)))
            ops.append(op)
            sizes.append(_maybe_var(draw, n, 1))
        else:
            pad = draw(st.integers(0, 2))
            smallest = max(1, reach - 2 * pad)
            sizes.append(_maybe_var(draw, draw(st.integers(smallest, smallest + 5)), smallest))
        pads.append(pad)
    params = {"out_channels": cout, "kernel_size": [a[0] for a in axes],
              "stride": [a[1] for a in axes], "dilation": [a[2] for a in axes],
              "padding": pads, "groups": g, "bias": draw(st.booleans())}
    if transposed:
        params["output_padding"] = ops
    return params, TensorSpec((cin, *sizes))


@st.composite
def pool_cases(draw, nd):
    kernel, stride, pads, sizes = [], [], [], []
    for _ in range(nd):
        k = draw(st.integers(1, 4))
        pad = draw(st.integers(0, k // 2))
        smallest = max(1, k - 2 * pad)
        kernel.append(k)
        stride.append(draw(st.integers(0, 3)))
        pads.append(pad)
        sizes.append(_maybe_var(draw, draw(st.integers(smallest, smallest + 6)), smallest))
    params = {"kernel_size": kernel, "stride": stride, "padding": pads,
              "ceil_mode": draw(st.booleans())}
    return params, TensorSpec((draw(st.integers(1, 4)), *sizes))


@FEW
@given(case=conv_cases(1))
def test_conv1d_matches_torch(case):
    check_block("Conv1d", case[0], [case[1]])


@FEW
@given(case=conv_cases(2))
def test_conv2d_matches_torch(case):
    check_block("Conv2d", case[0], [case[1]])


@FEW
@given(case=conv_cases(2, transposed=True))
def test_conv_transpose2d_matches_torch(case):
    check_block("ConvTranspose2d", case[0], [case[1]])


@FEW
@given(case=pool_cases(1))
def test_maxpool1d_matches_torch(case):
    check_block("MaxPool1d", case[0], [case[1]])


@FEW
@given(case=pool_cases(2), kind=st.sampled_from(["MaxPool2d", "AvgPool2d"]))
def test_pool2d_matches_torch(case, kind):
    check_block(kind, case[0], [case[1]])


@FEW
@given(c=st.integers(1, 4), h=st.integers(1, 7), w=st.integers(1, 7),
       out=st.tuples(st.integers(1, 4), st.integers(1, 4)), var=st.booleans())
def test_adaptive_avgpool2d_matches_torch(c, h, w, out, var):
    check_block("AdaptiveAvgPool2d", {"output_size": list(out)},
                [TensorSpec((c, None if var else h, w))])


@FEW
@given(c=st.integers(1, 6), spatial=st.lists(st.one_of(st.none(), st.integers(1, 6)),
                                              min_size=1, max_size=2))
def test_global_avgpool_matches_torch(c, spatial):
    check_block("GlobalAvgPool", {}, [TensorSpec((c, *spatial))])


@FEW
@given(c=st.integers(1, 8), length=st.one_of(st.none(), st.integers(1, 6)), seq=st.booleans(),
       affine=st.booleans(), momentum=st.floats(0, 1), eps=st.floats(1e-8, 1e-2))
def test_batchnorm1d_matches_torch(c, length, seq, affine, momentum, eps):
    shape = (c, length) if seq else (c,)
    check_block("BatchNorm1d", {"affine": affine, "momentum": momentum, "eps": eps},
                [TensorSpec(shape)])


@FEW
@given(c=st.integers(1, 8), h=st.integers(1, 5), w=st.one_of(st.none(), st.integers(1, 5)),
       affine=st.booleans())
def test_batchnorm2d_matches_torch(c, h, w, affine):
    check_block("BatchNorm2d", {"affine": affine}, [TensorSpec((c, h, w))])


@FEW
@given(lead=st.lists(st.one_of(st.none(), st.integers(1, 4)), max_size=2),
       d=st.integers(1, 16), affine=st.booleans())
def test_layernorm_matches_torch(lead, d, affine):
    check_block("LayerNorm", {"elementwise_affine": affine}, [TensorSpec((*lead, d))])


@FEW
@given(g=st.integers(1, 4), per=st.integers(1, 3), affine=st.booleans(),
       spatial=st.lists(st.one_of(st.none(), st.integers(1, 4)), max_size=2))
def test_groupnorm_matches_torch(g, per, affine, spatial):
    check_block("GroupNorm", {"num_groups": g, "affine": affine},
                [TensorSpec((g * per, *spatial))])


@FEW
@given(p=st.floats(0, 0.99), shape=st.lists(st.integers(1, 5), max_size=3))
def test_dropout_matches_torch(p, shape):
    check_block("Dropout", {"p": p}, [TensorSpec(tuple(shape))])


# -- random, often invalid parameters: the rule and PyTorch agree on what is legal -------------


def _agrees_with_torch(type_name, raw, spec, make_module):
    """The rule matches PyTorch when it accepts; when the rule refuses, PyTorch fails too or
    gives an empty output (e.g. a transposed convolution whose output size works out to 0,
    which torch 2.13 returns as an empty tensor and the rule refuses on purpose)."""
    try:
        check_block(type_name, raw, [spec])
    except ShapeError:
        try:
            out = make_module()(torch.randn(2, *spec.shape))
        except (RuntimeError, ValueError):
            return
        assert out.numel() == 0, f"the rule refused {raw} on {spec.shape}; torch gave {tuple(out.shape)}"


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["Conv1d", "Conv2d", "ConvTranspose2d"]), cin=st.integers(1, 6),
       cout=st.integers(1, 6), g=st.integers(1, 4), k=st.integers(1, 6), s=st.integers(1, 3),
       pad=st.integers(0, 4), d=st.integers(1, 3), op=st.integers(0, 3),
       sizes=st.tuples(st.integers(1, 6), st.integers(1, 6)))
def test_conv_rule_refuses_what_torch_refuses(kind, cin, cout, g, k, s, pad, d, op, sizes):
    nd = 1 if kind == "Conv1d" else 2
    raw = {"out_channels": cout, "kernel_size": k, "stride": s, "padding": pad, "dilation": d,
           "groups": g}
    kw = {"stride": s, "padding": pad, "dilation": d, "groups": g}
    if kind == "ConvTranspose2d":
        raw["output_padding"] = kw["output_padding"] = op
    _agrees_with_torch(kind, raw, TensorSpec((cin, *sizes[:nd])),
                       lambda: getattr(nn, kind)(cin, cout, k, **kw))


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["MaxPool1d", "MaxPool2d", "AvgPool2d"]), k=st.integers(1, 5),
       s=st.integers(0, 3), pad=st.integers(0, 3), ceil=st.booleans(),
       sizes=st.tuples(st.integers(1, 5), st.integers(1, 5)))
def test_pool_rule_refuses_what_torch_refuses(kind, k, s, pad, ceil, sizes):
    nd = 1 if kind == "MaxPool1d" else 2
    raw = {"kernel_size": k, "stride": s, "padding": pad, "ceil_mode": ceil}
    _agrees_with_torch(kind, raw, TensorSpec((2, *sizes[:nd])),
                       lambda: getattr(nn, kind)(k, s or k, pad, ceil_mode=ceil))


@settings(max_examples=25, deadline=None)
@given(g=st.integers(1, 6), c=st.integers(1, 12))
def test_groupnorm_rule_refuses_what_torch_refuses(g, c):
    _agrees_with_torch("GroupNorm", {"num_groups": g}, TensorSpec((c, 3)),
                       lambda: nn.GroupNorm(g, c))


# -- messages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("type_name", "raw", "shape", "expected"), [
    ("Conv2d", {}, (784,), r"image \[N, C, H, W\] but gets \[N, 784\]: insert Reshape to "
                           r"\[1, 28, 28\]"),
    ("Conv2d", {}, (3072,), r"insert Reshape to \[3, 32, 32\]"),
    ("Conv2d", {}, (None, 16), "use Conv1d"),
    ("Conv1d", {}, (10,), r"insert Reshape to \[1, 10\]"),
    ("Conv1d", {}, (3, 8, 8), "use Conv2d for images"),
    ("MaxPool2d", {}, (4, 16), r"use MaxPool1d .* Reshape to \[1, 4, 16\]"),
    ("BatchNorm1d", {}, (3, 8, 8), "use BatchNorm2d for images"),
    ("BatchNorm2d", {}, (12,), r"expects an image \[N, C, H, W\]"),
    ("GlobalAvgPool", {}, (10,), "already flat"),
    ("AdaptiveAvgPool2d", {}, (3, 4, 5, 6), "expects an image"),
])
def test_wrong_rank_names_the_fix(type_name, raw, shape, expected):
    with pytest.raises(ShapeError, match=expected):
        _infer(type_name, raw, TensorSpec(shape))


@pytest.mark.parametrize(("type_name", "raw", "shape", "expected"), [
    ("MaxPool2d", {"kernel_size": 2}, (3, 1, 1),
     "MaxPool2d with kernel 2 shrinks 1x1 to nothing: use a smaller kernel or remove a pooling"),
    ("AvgPool2d", {"kernel_size": [1, 4]}, (3, 5, 3), "kernel 1x4 shrinks 5x3 to nothing"),
    ("MaxPool1d", {"kernel_size": 3}, (3, 2), "kernel 3 shrinks 2 to nothing"),
    ("Conv2d", {"kernel_size": 5, "padding": 0}, (3, 3, 3),
     "kernel 5 shrinks 3x3 to nothing: use a smaller kernel, add padding"),
    ("Conv1d", {"kernel_size": 3, "dilation": 3, "padding": 0}, (2, 6),
     r"kernel 3 \(dilation 3\) shrinks 6 to nothing"),
    ("ConvTranspose2d", {"kernel_size": 1, "stride": 1, "padding": 3}, (3, 1, 1),
     "padding 3 trims .* to nothing: use less padding"),
])
def test_too_small_input_is_refused_not_zero(type_name, raw, shape, expected):
    with pytest.raises(ShapeError, match=expected):
        _infer(type_name, raw, TensorSpec(shape))


@pytest.mark.parametrize(("type_name", "raw", "shape", "expected"), [
    ("Conv2d", {"groups": 4, "out_channels": 8}, (6, 8, 8),
     "4 groups needs the input channels divisible by 4, but there are 6: .* e.g. 3"),
    ("Conv1d", {"groups": 2, "out_channels": 5}, (4, 8),
     "2 groups needs out_channels divisible by 2, but there are 5"),
    ("ConvTranspose2d", {"groups": 3}, (4, 4, 4), "divisible by 3"),
    ("GroupNorm", {"num_groups": 8}, (12, 4, 4), "choose num_groups that divides 12, e.g. 6"),
])
def test_groups_mismatch_is_explained(type_name, raw, shape, expected):
    with pytest.raises(ShapeError, match=expected):
        _infer(type_name, raw, TensorSpec(shape))


def test_pool_padding_over_half_kernel_is_refused():
    with pytest.raises(ShapeError, match="padding 2 is more than half of kernel 3: use padding 1"):
        _infer("MaxPool2d", {"kernel_size": 3, "padding": 2}, TensorSpec((3, 8, 8)))


def test_transposed_output_padding_must_be_below_stride_or_dilation():
    with pytest.raises(ShapeError, match="output_padding 2 must be smaller than stride 2"):
        _infer("ConvTranspose2d", {"output_padding": 2}, TensorSpec((3, 4, 4)))


@pytest.mark.parametrize("type_name", ["Conv1d", "BatchNorm1d", "GroupNorm"])
def test_variable_channels_are_refused(type_name):
    with pytest.raises(ShapeError, match="fixed number of channels"):
        _infer(type_name, {"num_groups": 1} if type_name == "GroupNorm" else {},
               TensorSpec((None, 8)))


@pytest.mark.parametrize("type_name", [b.type for b in SPATIAL])
def test_token_ids_are_refused(type_name):
    with pytest.raises(ShapeError, match="Embedding"):
        get_block(type_name).infer(_resolved(type_name, {}), [TensorSpec((8, 8, 8), "long", 9)])


def test_variable_length_stays_variable():
    assert _infer("Conv1d", {"out_channels": 4}, TensorSpec((2, None))).shape == (4, None)
    assert _infer("MaxPool2d", {}, TensorSpec((2, None, 8))).shape == (2, None, 4)


# -- counts, summaries, emitted code ----------------------------------------------------------


def test_conv2d_flops_count_each_multiply_add_twice():
    spec = TensorSpec((3, 8, 8))
    p = _resolved("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1})
    blk = get_block("Conv2d")
    out = blk.infer(p, [spec])
    assert blk.flops(p, [spec], out) == 2 * (8 * 8 * 8) * (3 * 9) + 8 * 8 * 8


def test_transposed_conv_flops_scale_with_input_positions():
    blk, spec = get_block("ConvTranspose2d"), TensorSpec((4, 5, 5))
    p = _resolved("ConvTranspose2d", {"out_channels": 2, "kernel_size": 4, "bias": False})
    assert blk.flops(p, [spec], blk.infer(p, [spec])) == 2 * 4 * 25 * 2 * 16


def test_summaries_read_like_the_canvas():
    conv = _resolved("Conv2d", {"out_channels": 32})
    assert get_block("Conv2d").summary(conv) == "32, k3 s1 p1"
    pool = _resolved("MaxPool2d", {})
    assert get_block("MaxPool2d").summary(pool) == "k2 s2"


def test_global_avgpool_is_a_mean_named_by_the_node_id():
    g = fx.Graph()
    x = g.placeholder("x")
    spec = TensorSpec((4, 6, 6))
    node = get_block("GlobalAvgPool").emit(g, "gap1", {}, [x], [spec])
    g.output(node)
    gm = fx.GraphModule(nn.Module(), g)
    assert node.name == "gap1" and "mean" in gm.code
    t = torch.randn(2, 4, 6, 6)
    assert torch.equal(gm(t), t.mean(dim=(2, 3)))


# -- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize("block", SPATIAL, ids=lambda b: b.type)
def test_block_is_documented_with_sane_defaults(block):
    assert block.family in ("conv", "pool", "norm")
    assert block.title and len(block.doc) > 80
    res = block.resolve({})
    assert not res.errors
    assert isinstance(block.summary(res.values), str)
    for p in block.params:
        assert p.doc, f"{block.type}.{p.name} has no doc"
        if p.kind in ("int", "float", "size"):
            assert p.min is not None and p.max is not None, f"{block.type}.{p.name} is unbounded"


@pytest.mark.parametrize(("type_name", "name"), NUMERIC)
@pytest.mark.parametrize("absurd", [-1, 10**12])
def test_absurd_values_are_refused(type_name, name, absurd):
    assert get_block(type_name).resolve({name: absurd}).errors


@pytest.mark.parametrize("p", [1.0, -0.1])
def test_dropout_probability_is_below_one(p):
    assert get_block("Dropout").resolve({"p": p}).errors


def test_unknown_parameter_is_refused():
    assert get_block("Conv2d").resolve({"in_channels": 3}).errors
