"""The segmentation head, and the decoder blocks a U-Net needs, checked against PyTorch."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.blocks import get_block
from engine.blocks.base import ShapeError, TensorSpec
from engine.compile import compile_graph, example_inputs
from engine.project import Edge, Graph, Node
from engine.shapes import analyze_graph
from tests.engine.blockcheck import check_block

FEW = settings(max_examples=30, deadline=None)


@FEW
@given(classes=st.integers(1, 12), c=st.integers(1, 16), h=st.integers(1, 9),
       w=st.integers(1, 9), var=st.booleans())
def test_segmentation_head_matches_torch(classes, c, h, w, var):
    check_block("SegmentationHead", {"classes": classes},
                [TensorSpec((c, None if var else h, w))])


def test_segmentation_head_keeps_the_size_and_counts_weights_and_bias():
    block = get_block("SegmentationHead")
    p = block.resolve({"classes": 7}).values
    x = TensorSpec((16, 32, 24))
    out = block.infer(p, [x])
    assert out.shape == (7, 32, 24)
    assert block.param_count(p, [x]) == 16 * 7 + 7
    assert block.flops(p, [x], out) == 7 * 32 * 24 * (2 * 16 + 1)
    assert block.summary(p) == "7 classes"


@pytest.mark.parametrize(("spec", "words"), [
    (TensorSpec((64,)), "insert Reshape to"),
    (TensorSpec((8, 8)), "expects an image"),
    (TensorSpec((3, 8, 8), dtype="long", vocab=10), "needs real-valued input"),
])
def test_segmentation_head_refuses_what_is_not_an_image(spec, words):
    block = get_block("SegmentationHead")
    with pytest.raises(ShapeError, match=words):
        block.infer(block.resolve({"classes": 3}).values, [spec])


def test_segmentation_head_refuses_zero_classes():
    assert get_block("SegmentationHead").resolve({"classes": 0}).errors == [
        "classes must be at least 1, not 0"]


def _unet(up: dict, size: int) -> Graph:
    """Input -> conv -> pool -> conv -> up -> concat(skip) -> head: the smallest U-Net."""
    nodes = [
        Node(id="image", type="Input", params={"shape": [3, size, size]}),
        Node(id="enc", type="Conv2d", params={"out_channels": 4}),
        Node(id="pool", type="MaxPool2d", params={"kernel_size": 2}),
        Node(id="mid", type="Conv2d", params={"out_channels": 8}),
        Node(id="up", **up),
        Node(id="cat", type="Concat", params={}),
        Node(id="head", type="SegmentationHead", params={"classes": 5}),
        Node(id="masks", type="Output", params={}),
    ]
    wires = [("image", "enc", "in"), ("enc", "pool", "in"), ("pool", "mid", "in"),
             ("mid", "up", "in"), ("up", "cat", "in0"), ("enc", "cat", "in1"),
             ("cat", "head", "in"), ("head", "masks", "in")]
    return Graph(nodes=nodes, edges=[Edge(src=a, dst=b, dst_port=port) for a, b, port in wires])


UPS = [
    {"type": "ConvTranspose2d", "params": {"out_channels": 4, "kernel_size": 2, "padding": 0}},
    {"type": "ConvTranspose2d", "params": {"out_channels": 4}},  # kernel 4, stride 2, padding 1
    {"type": "Upsample", "params": {"mode": "bilinear"}},
    {"type": "Upsample", "params": {}},
]


@pytest.mark.parametrize("up", UPS, ids=lambda u: f"{u['type']}-{u['params']}")
def test_a_unet_decoder_restores_the_input_size_for_the_skip_and_the_head(up):
    graph = _unet(up, 16)
    a = analyze_graph(graph, "model")
    assert a.ok, [p.message for p in a.errors]
    assert a.output_specs()[0].shape == (5, 16, 16)
    gm = compile_graph(graph, "model", analysis=a)
    (x,) = example_inputs(a, batch=2)
    assert gm(x).shape == (2, 5, 16, 16)
    assert sum(t.numel() for t in gm.parameters()) == a.total_params


def test_an_odd_size_that_pooling_rounds_down_is_named_at_the_concat():
    a = analyze_graph(_unet(UPS[0], 15), "model")
    (problem,) = a.errors
    assert problem.node == "cat"
    assert "[N, 4, 14, 14]" in problem.message and "[N, 4, 15, 15]" in problem.message


def test_the_head_builds_a_1x1_convolution_with_bias():
    block = get_block("SegmentationHead")
    mod = block.build(block.resolve({"classes": 3}).values, [TensorSpec((5, 4, 4))])
    assert isinstance(mod, torch.nn.Conv2d)
    assert mod.kernel_size == (1, 1) and mod.bias is not None and mod.out_channels == 3
