"""The decoder (peaks, top-k, NMS) exports to ONNX at opset 18 the way the app exports
models (torch.onnx dynamo, dynamic batch), and onnxruntime returns the same boxes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from engine.blocks.modules import DetectionHead
from engine.export.onnx_export import quiet
from engine.vision.decode import Decoder, DetectorWithDecoder


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1),
                        DetectionHead(8, 3, 8))
    model = DetectorWithDecoder(net, Decoder(3, stride=4, max_detections=16, min_score=0.05,
                                             nms_iou=0.3)).eval()
    path = tmp_path_factory.mktemp("onnx") / "detector.onnx"
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    with quiet(), torch.no_grad():
        program = torch.onnx.export(model, (torch.randn(2, 3, 32, 32),), dynamo=True,
                                    opset_version=18, dynamic_shapes=({0: batch},),
                                    input_names=["image"],
                                    output_names=["boxes", "scores", "labels"],
                                    verbose=False, report=False)
        program.save(str(path), external_data=False)
    return model, path


@pytest.mark.parametrize("batch", [1, 3])
def test_onnxruntime_gives_the_boxes_pytorch_gives(exported, batch):
    import onnxruntime as ort

    model, path = exported
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["boxes", "scores", "labels"]
    x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(batch))
    boxes, scores, labels = session.run(None, {"image": x.numpy()})
    with torch.no_grad():
        want = model(x)
    assert boxes.shape == (batch, 16, 4) and labels.dtype == np.int64
    assert (want[1] > 0).sum() > batch  # boxes were found, so there is something to compare
    np.testing.assert_allclose(boxes, want[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(scores, want[1].numpy(), atol=1e-5)
    np.testing.assert_array_equal(labels, want[2].numpy())
