"""`export --format onnx-int8` on LeNet-5 trained (3 epochs) on the built-in digits: the
int8 model is at least 3.5x smaller and within 1 point of fp32's accuracy, keeps the
preprocessing metadata, and the report and model card carry the flags, the per-block
sensitivity and the fp32/int8 comparison. Refusals leave no files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from engine.cli import main
from engine.deploy.quantize import export_int8
from engine.export import ExportError, export, load_source
from engine.export.preprocessing import metadata
from engine.project import load_project
from engine.train import train
from engine.train.events import Finished
from engine.train.overrides import apply_overrides

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    """(run folder, its int8 export report, the export folder)."""
    root = tmp_path_factory.mktemp("int8")
    project = apply_overrides(load_project(EXAMPLES / "lenet5.lforge"), {
        "training.epochs": 3, "training.threads": 1, "training.device": "cpu"})
    events = list(train(project, root / "run"))
    assert isinstance(events[-1], Finished), events[-1]
    report = export(root / "run", "onnx-int8", root / "int8")
    return root / "run", report, root / "int8"


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_int8_is_3_5x_smaller_and_within_one_point(lenet):
    _, report, folder = lenet
    fp32, int8 = report.details["comparison"]
    assert (fp32["model"], int8["model"]) == ("fp32", "int8")
    assert int8["bytes"] == (folder / "model.int8.onnx").stat().st_size
    assert fp32["bytes"] / int8["bytes"] >= 3.5
    assert fp32["value"] > 0.85  # trained well enough for the comparison to mean something
    assert abs(fp32["value"] - int8["value"]) <= 0.01


def test_fp32_metric_is_the_trainers_validation_accuracy(lenet):
    run, report, _ = lenet
    fp32 = report.details["comparison"][0]
    val = json.loads((run / "evaluation.json").read_text())["val"]
    assert fp32["metric"] == "accuracy"
    assert fp32["value"] == pytest.approx(val["accuracy"], abs=0.006)


def test_comparison_latencies_are_measured(lenet):
    _, report, _ = lenet
    for row in report.details["comparison"]:
        assert 0 < row["latency_ms_b1"] < row["latency_ms_b32"] < 1000


def test_sensitivity_has_one_row_per_computing_block(lenet):
    _, report, _ = lenet
    rows = report.details["sensitivity"]
    assert [r["block"] for r in rows] == ["conv1", "conv2", "fc1", "fc2", "fc3"]
    base = {round(r["value"] - r["delta"], 9) for r in rows}
    assert len(base) == 1  # every delta is against the same fp32 figure
    assert all(r["metric"] == "accuracy" and 0 <= r["value"] <= 1 for r in rows)
    assert all(abs(r["delta"]) <= 0.02 for r in rows)


def test_lenet_has_nothing_to_flag(lenet):
    _, report, _ = lenet
    assert report.details["flags"] == []  # every LeNet-5 op has an int8 kernel


def test_int8_model_keeps_the_preprocessing_metadata(lenet):
    run, _, folder = lenet
    expected = metadata(load_source(run).data)  # what the fp32 ONNX export writes
    meta = _session(folder / "model.int8.onnx").get_modelmeta().custom_metadata_map
    assert {"layerforge.preprocessing", "layerforge.mean", "layerforge.classes"} <= set(expected)
    for key, value in expected.items():
        assert meta[key] == value
    quant = json.loads(meta["layerforge.quantization"])
    assert quant["calibration"] == 256 and quant["per_channel"] is True
    assert quant["weight_bits"] == 7
    assert quant["format"] == "QOperator"
    data = (folder / "model.int8.onnx").read_bytes()
    assert b"stack_trace" not in data and b"name_scopes" not in data  # debug metadata gone


def test_int8_model_runs_on_prepared_inputs(lenet):
    """The int8 model reads the validation digits as the run prepared them."""

    from engine.data import load_dataset

    run, _, folder = lenet
    project = load_project(run / "project.lforge")
    bundle = load_dataset(project.dataset)
    x, y = bundle.val.x[:200].numpy(), bundle.val.y[:200].numpy()
    out = _session(folder / "model.int8.onnx").run(None, {"image": x})[0]
    assert out.shape == (200, 10) and (out.argmax(1) == y).mean() > 0.85


def test_model_card_has_the_three_tables(lenet):
    _, report, folder = lenet
    card = (folder / "README.md").read_text()
    section = card.split("## Int8 quantization", 1)[1].split("\n## ", 1)[0]
    assert "| fp32 | " in section and "| int8 | " in section
    assert "smaller" in section and "one intra-op thread" in section
    assert "### Blocks flagged before quantizing" in section
    assert "| conv1 | " in section.split("### Per-block sensitivity", 1)[1]
    assert report.files == [folder / "model.int8.onnx", folder / "README.md"]


def test_cli_export_to_an_onnx_path_with_calibration(lenet, tmp_path, capsys):
    run, _, _ = lenet
    out = tmp_path / "deploy" / "digits.onnx"
    code = main(["export", str(run), "--format", "onnx-int8", "--out", str(out),
                 "--calibration", "40"])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.parent.iterdir()) == ["digits.README.md", "digits.onnx"]
    meta = _session(out).get_modelmeta().custom_metadata_map
    assert json.loads(meta["layerforge.quantization"])["calibration"] == 40
    printed = capsys.readouterr().out
    assert "smaller than fp32" in printed and "median latency" in printed


def test_untrained_project_is_refused_and_leaves_nothing(tmp_path):
    out = tmp_path / "new" / "int8"
    with pytest.raises(ExportError, match="needs a trained run and its data"):
        export_int8(EXAMPLES / "lenet5.lforge", out)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("example", ["dcgan", "translator"])
def test_unsupported_kind_is_refused_naming_the_kinds_covered(tmp_path, example):
    out = tmp_path / "int8"
    with pytest.raises(ExportError) as caught:
        export(EXAMPLES / f"{example}.lforge", "onnx-int8", out)
    message = str(caught.value)
    for kind in ("classification", "regression", "segmentation", "--format onnx"):
        assert kind in message
    assert list(tmp_path.iterdir()) == []


def test_int8_weights_use_seven_bits_so_cpus_without_vnni_do_not_saturate(lenet):
    """x86 CPUs without VNNI add pairs of uint8 x int8 products in 16 bits; full-range
    weights overflow there (a regression MLP lost 0.10 of R² on an AVX2 machine). Every
    weight tensor of the model stays within 7 bits, and uses them."""
    import onnx
    from onnx import numpy_helper

    _, _, folder = lenet
    model = onnx.load(str(folder / "model.int8.onnx"))
    weights = [numpy_helper.to_array(t) for t in model.graph.initializer
               if t.data_type == onnx.TensorProto.INT8 and t.dims and len(t.dims) > 1]
    assert len(weights) >= 4  # LeNet-5's convolutions and linears
    for w in weights:
        assert int(np.abs(w.astype(np.int32)).max()) in range(60, 65)
