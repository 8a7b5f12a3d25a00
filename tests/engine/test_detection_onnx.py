"""The decoder (peaks, top-k, NMS) exports to ONNX at opset 18 the way the app exports
models (torch.onnx dynamo, dynamic batch, LayerForge's translation of its NMS into ONNX's
NonMaxSuppression), and onnxruntime keeps the boxes PyTorch's greedy NMS keeps."""

from __future__ import annotations

import random

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from engine.blocks.modules import DetectionHead
from engine.export.onnx_export import quiet
from engine.vision.decode import DetectorWithDecoder, greedy_nms
from engine.vision.onnx_nms import ExportDecoder, nms, onnx_translations

CLASSES = 3


def _export(module, example, path, names, outputs):
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    with quiet(), torch.no_grad():
        program = torch.onnx.export(module, example, dynamo=True, opset_version=18,
                                    dynamic_shapes=tuple({0: batch} for _ in example),
                                    input_names=names, output_names=outputs, verbose=False,
                                    report=False, custom_translation_table=onnx_translations())
        program.save(str(path), external_data=False)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1),
                        DetectionHead(8, CLASSES, 8))
    # the default 100 detections: the NMS is one ONNX node, whatever the number
    decoder = ExportDecoder(CLASSES, stride=4, max_detections=100, min_score=0.05, nms_iou=0.3)
    model = DetectorWithDecoder(net, decoder).eval()
    path = tmp_path_factory.mktemp("onnx") / "detector.onnx"
    session = _export(model, (torch.randn(2, 3, 32, 32),), path, ["image"],
                      ["boxes", "scores", "labels", "maps"])
    return model, path, session


@pytest.mark.parametrize("batch", [1, 3])
def test_onnxruntime_gives_the_boxes_pytorch_gives(exported, batch):
    model, _, session = exported
    assert [o.name for o in session.get_outputs()] == ["boxes", "scores", "labels", "maps"]
    x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(batch))
    boxes, scores, labels, maps = session.run(None, {"image": x.numpy()})
    with torch.no_grad():
        want = model(x)
    assert boxes.shape == (batch, 100, 4) and labels.dtype == np.int64
    assert (want[1] > 0).sum() > batch  # boxes were found, so there is something to compare
    np.testing.assert_allclose(boxes, want[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(scores, want[1].numpy(), atol=1e-5)
    np.testing.assert_array_equal(labels, want[2].numpy())
    np.testing.assert_allclose(maps, want[3].numpy(), atol=1e-5)


def test_peaks_are_found_on_the_logits_so_a_1e_8_step_is_a_peak_in_every_runtime():
    """Two neighbouring heatmap logits 1e-8 apart (around 0.3) are distinct float32 values
    but round to the same sigmoid: the higher one must be the only peak, as its logit says,
    with the sigmoid of its logit as score."""
    maps = torch.zeros(1, 5, 4, 4)
    maps[:, 0] = -10.0
    maps[0, 0, 1, 1] = 0.3
    maps[0, 0, 1, 2] = torch.nextafter(torch.tensor(0.3), torch.tensor(1.0))
    assert maps[0, 0, 1, 1].sigmoid() == maps[0, 0, 1, 2].sigmoid()
    boxes, scores, labels = ExportDecoder(1, stride=4, max_detections=5)(maps)
    assert (scores > 0).sum() == 1
    assert scores[0, 0] == maps[0, 0, 1, 2].sigmoid()
    assert boxes[0, 0].tolist() == [8.0, 4.0, 8.0, 4.0]  # cell (1, 2), size 0, offset 0


def test_the_onnx_graph_suppresses_with_one_nonmaxsuppression_node(exported):
    _, path, _ = exported
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops.count("NonMaxSuppression") == 1
    assert len(ops) < 150  # no round of the PyTorch loop is unrolled into the graph


def _candidates(rng: random.Random, images: int, n: int):
    """Boxes crowded enough that many overlap, sorted scores (the last few 0: empty slots),
    3 classes."""
    xy = torch.tensor([[[rng.uniform(0, 30), rng.uniform(0, 30)] for _ in range(n)]
                       for _ in range(images)])
    wh = torch.tensor([[[rng.uniform(4, 20), rng.uniform(4, 20)] for _ in range(n)]
                       for _ in range(images)])
    scores = torch.tensor([sorted((rng.random() for _ in range(n)), reverse=True)
                           for _ in range(images)])
    scores[:, -5:] = 0
    labels = torch.tensor([[rng.randrange(CLASSES) for _ in range(n)] for _ in range(images)])
    return torch.cat([xy, xy + wh], -1), scores, labels


class _Suppress(nn.Module):
    def __init__(self, iou: float) -> None:
        super().__init__()
        self.decoder = ExportDecoder(CLASSES, stride=4, nms_iou=iou)

    def forward(self, boxes, scores, labels):
        return self.decoder.suppress(boxes, scores, labels)


@pytest.mark.parametrize("iou", [0.3, 0.5])
def test_onnx_nonmaxsuppression_keeps_what_greedy_nms_keeps(tmp_path, iou):
    rng = random.Random(int(iou * 10))
    example = _candidates(rng, 2, 60)
    session = _export(_Suppress(iou), example, tmp_path / "nms.onnx",
                      ["boxes", "scores", "labels"], ["keep"])
    boxes, scores, labels = _candidates(rng, 4, 60)
    (got,) = session.run(None, {"boxes": boxes.numpy(), "scores": scores.numpy(),
                                "labels": labels.numpy()})
    want = greedy_nms(boxes, scores, labels, iou)
    assert 0 < want.sum() < (scores > 0).sum()  # some boxes suppressed, some kept
    np.testing.assert_array_equal(got, want.numpy())


def test_the_custom_op_in_pytorch_is_greedy_nms_per_class():
    boxes, scores, labels = _candidates(random.Random(7), 3, 50)
    rank = torch.arange(50, 0, -1).float() * (scores > 0).float()
    per_class = (labels[:, None, :] == torch.arange(CLASSES)[None, :, None]).float() \
        * rank[:, None, :]
    assert torch.equal(nms(boxes, per_class, 0.4), greedy_nms(boxes, scores, labels, 0.4))
