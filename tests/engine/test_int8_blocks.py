"""The int8 export's block attribution and flags: ONNX nodes traced back to the blocks of
the graph (function blocks such as Add and GlobalAvgPool too), ops ONNX Runtime leaves in
float flagged "will not quantize", attention and outlier-dominated ranges "may quantize
badly"; checked on ResNet-mini's real ONNX export and on small hand-built models run in
onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from engine.deploy.int8_blocks import (
    activation_spreads,
    flag_blocks,
    node_blocks,
    sensitive_blocks,
)
from engine.export import export, load_source
from engine.shapes import analyze_graph

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture(scope="module")
def resnet(tmp_path_factory):
    """ResNet-mini's fp32 ONNX model (untrained: attribution needs no training) and owners."""
    out = tmp_path_factory.mktemp("resnet")
    src = load_source(EXAMPLES / "resnetmini.lforge")
    export(src, "onnx", out)
    model = onnx.load(str(out / "model.onnx"))
    structure = analyze_graph(src.graph, src.graph_name, src.project.graphs).structure
    return model, node_blocks(model, structure)


def test_function_blocks_are_matched_by_their_neighbours(resnet):
    model, owners = resnet
    by_op = {}
    for node in model.graph.node:
        by_op.setdefault(node.op_type, []).append(owners.get(node.name))
    assert by_op["Add"] == ["b1_add", "b2_add"]  # traced as add_40, add_81
    assert by_op["ReduceMean"] == ["gap"]  # GlobalAvgPool, traced as mean
    assert by_op["Gemm"] == ["fc"]


def test_a_conv_folded_with_its_batchnorm_names_both(resnet):
    model, owners = resnet
    convs = [owners[n.name] for n in model.graph.node if n.op_type == "Conv"]
    assert convs[:3] == ["stem + stem_bn", "b1_conv1 + b1_bn1", "b1_conv2 + b1_bn2"]
    assert "b2_short" in convs  # a conv without BatchNorm keeps its own name


def test_resnet_flags_the_average_pool_left_in_float(resnet):
    model, owners = resnet
    flags = flag_blocks(model, owners, {})
    assert [(f["block"], f["ops"], f["severity"]) for f in flags] == [
        ("gap", ["ReduceMean"], "error")]
    assert "will not quantize" in flags[0]["reason"]


def test_sensitivity_rows_skip_blocks_that_only_pass_values_on(resnet):
    model, owners = resnet
    rows = sensitive_blocks(model, owners)
    assert "b1_add" in rows and "fc" in rows
    assert not any("relu" in label for label in rows)  # ReLU alone changes nothing


def _model(nodes, inits, x_shape, out_name="y", out_shape=None):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    return model


def test_recurrent_and_attention_ops_are_flagged():
    rng = np.random.default_rng(0)
    inits = {"lstm.W": rng.standard_normal((1, 16, 3)).astype(np.float32),
             "lstm.R": rng.standard_normal((1, 16, 4)).astype(np.float32)}
    nodes = [helper.make_node("LSTM", ["x", "lstm.W", "lstm.R"], ["h"], name="lstm_node",
                              hidden_size=4),
             helper.make_node("Squeeze", ["h"], ["hs"], name="sq"),
             helper.make_node("Transpose", ["hs"], ["ht"], name="tr", perm=[1, 0, 2]),
             helper.make_node("MatMul", ["ht", "ht2"], ["scores"], name="qk"),
             helper.make_node("Transpose", ["ht"], ["ht2"], name="tr2", perm=[0, 2, 1]),
             helper.make_node("Softmax", ["scores"], ["y"], name="soft", axis=-1)]
    nodes = [nodes[0], nodes[1], nodes[2], nodes[4], nodes[3], nodes[5]]
    model = _model(nodes, inits, [5, 2, 3], out_shape=[2, 5, 5])
    owners = {"lstm_node": "lstm", "sq": "lstm", "tr": "attn", "tr2": "attn", "qk": "attn",
              "soft": "attn"}
    flags = flag_blocks(model, owners, {})
    assert [(f["block"], f["severity"]) for f in flags] == [("lstm", "error"),
                                                            ("attn", "warning")]
    assert flags[0]["ops"] == ["LSTM"] and "recurrent" in flags[0]["reason"]
    assert flags[1]["ops"] == ["Softmax", "MatMul"] and "attention" in flags[1]["reason"]


def test_an_outlier_dominated_range_is_flagged_and_a_plain_one_is_not():
    weight = np.eye(64, dtype=np.float32)
    nodes = [helper.make_node("MatMul", ["x", "fc.weight"], ["y"], name="mm")]
    model = _model(nodes, {"fc.weight": weight}, ["N", 64], out_shape=["N", 64])
    owners = {"mm": "fc"}
    rng = np.random.default_rng(1)
    plain = [{"x": rng.standard_normal((32, 64)).astype(np.float32)} for _ in range(2)]
    assert activation_spreads(model, owners, plain) == {}
    spiky = [dict(f) for f in plain]
    spiky[0]["x"] = spiky[0]["x"].copy()
    spiky[0]["x"][3, 5] = 400.0  # one value in 4096 sets the range
    spreads = activation_spreads(model, owners, spiky)
    assert set(spreads) == {"fc"}
    op, lo, hi, p_lo, p_hi = spreads["fc"]
    assert op == "MatMul" and hi == pytest.approx(400.0) and p_hi < 10
    flags = flag_blocks(model, owners, spreads)
    assert [(f["block"], f["severity"]) for f in flags] == [("fc", "warning")]
    assert "outliers" in flags[0]["reason"]
