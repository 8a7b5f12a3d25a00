"""The detection head against PyTorch: shapes, parameter count, and its starting scores."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.blocks import get_block
from engine.blocks.base import ShapeError, TensorSpec
from tests.engine.blockcheck import check_block


@settings(max_examples=25, deadline=None)
@given(c=st.integers(1, 8), h=st.integers(1, 9), w=st.integers(1, 9),
       classes=st.integers(1, 7), width=st.integers(1, 12))
def test_detection_head_matches_pytorch(c, h, w, classes, width):
    check_block("DetectionHead", {"classes": classes, "width": width}, [TensorSpec((c, h, w))])


def test_output_is_heatmaps_then_size_then_offset():
    block = get_block("DetectionHead")
    p = block.resolve({"classes": 3, "width": 8}).values
    assert block.infer(p, [TensorSpec((16, 20, 20))]).shape == (7, 20, 20)
    assert block.summary(p) == "3 classes, width 8"


def test_heatmap_starts_near_one_in_ten():
    """CenterNet's prior: every cell starts at a score of about 0.1, not 0.5."""
    torch.manual_seed(0)
    block = get_block("DetectionHead")
    p = block.resolve({"classes": 2, "width": 4}).values
    module = block.build(p, [TensorSpec((3, 8, 8))])
    assert module.heatmap[2].bias.tolist() == pytest.approx([-2.19, -2.19])
    with torch.no_grad():
        scores = module(torch.randn(4, 3, 8, 8))[:, :2].sigmoid()
    assert 0.05 < float(scores.mean()) < 0.15


@pytest.mark.parametrize("spec", [TensorSpec((16,)), TensorSpec((4, 16)),
                                  TensorSpec((3, 8, 8), dtype="long", vocab=5)])
def test_refuses_what_is_not_an_image(spec):
    block = get_block("DetectionHead")
    with pytest.raises(ShapeError, match="Detection head"):
        block.infer(block.resolve({}).values, [spec])
