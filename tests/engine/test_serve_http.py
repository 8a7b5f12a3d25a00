"""The prediction server over real HTTP: uvicorn on 127.0.0.1 serving a trained LeNet-5's
model folder with ``python -I server.py``; every bad request answers 4xx JSON and the
server keeps answering."""

from __future__ import annotations

import http.client
import json

import numpy as np
import pytest

from engine.deploy import http_check
from engine.deploy.http_check import post_file, post_json, request
from tests.engine.serve_helpers import digit_png, model_folder_with_server, train_lenet

LIMIT_MB = 0.5
GOOD = {"input": np.zeros((1, 28, 28)).tolist()}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_lenet(tmp_path_factory.mktemp("run") / "lenet")


@pytest.fixture(scope="module")
def folder(run, tmp_path_factory):
    return model_folder_with_server(run, tmp_path_factory.mktemp("served") / "model")


@pytest.fixture(scope="module")
def port(folder):
    with http_check.running_server(folder, args=["--max-body-mb", str(LIMIT_MB)]) as p:
        yield p


def _still_answers(port: int) -> None:
    a = post_json(port, GOOD)
    assert a.status == 200, a.body
    assert len(a.json()["predictions"]) == 1


def test_json_and_png_answer_classes_and_probabilities(port):
    a = post_json(port, {"inputs": [GOOD["input"], GOOD["input"]], "top": 3})
    assert a.status == 200 and a.content_type == "application/json"
    answer = a.json()
    assert answer["task"] == "classification"
    assert len(answer["predictions"]) == 2
    p = answer["predictions"][0]
    assert p["class"] in [str(d) for d in range(10)]
    assert len(p["top"]) == 3 and p["top"][0]["class"] == p["class"]
    assert p["probability"] == pytest.approx(p["top"][0]["probability"])
    upload = post_file(port, "digit.png", digit_png(), "image/png", {"top": "2"})
    assert upload.status == 200, upload.body
    assert len(upload.json()["predictions"][0]["top"]) == 2


def test_health_and_info(port):
    assert request(port, "GET", "/health").json() == {"status": "ok"}
    info = request(port, "GET", "/info").json()
    assert info["inputs"] == [{"name": "image", "shape": [1, 28, 28], "dtype": "float32"}]
    assert info["classes"] == [str(d) for d in range(10)]
    assert info["task"] == "classification" and info["int8"] is False
    assert "lenet5" in info["card"]  # the model card


def _huge() -> bytes:
    return b'{"input": [' + b"0," * int(LIMIT_MB * 1e6) + b"0]}"


BAD = {  # kind: (status, request arguments, words in the error)
    "wrong shape": (400, ("POST", "/predict", json.dumps({"input": [[1.0, 2.0]]}).encode(),
                          "application/json"), "1, 28, 28"),
    "wrong dtype": (400, ("POST", "/predict", json.dumps({"input": True}).encode(),
                          "application/json"), "input"),
    "strings in arrays": (400, ("POST", "/predict", json.dumps(
        {"inputs": [[["a"] * 28] * 28]}).encode(), "application/json"), "text"),
    "not an image": (400, ("POST", "/predict", *http_check.multipart(
        {}, {"file": ("notes.png", b"these are not pixels", "image/png")})), "notes.png"),
    "huge body": (413, ("POST", "/predict", _huge(), "application/json"), "MB"),
    "wrong content type": (415, ("POST", "/predict", b"1,2,3", "text/csv"), "JSON"),
    "form-urlencoded (curl -d)": (415, ("POST", "/predict", b'{"input": 1}',
                                        "application/x-www-form-urlencoded"), "Content-Type"),
    "malformed JSON": (422, ("POST", "/predict", b'{"input": [1, 2', "application/json"),
                       "not valid JSON"),
    "no input": (422, ("POST", "/predict", b'{"top": 3}', "application/json"), "inputs"),
    "option out of range": (422, ("POST", "/predict", json.dumps({**GOOD, "top": 0}).encode(),
                                  "application/json"), "top"),
    "upload without file": (422, ("POST", "/predict", *http_check.multipart(
        {"top": "1"}, {})), "file"),
    "unknown path": (404, ("GET", "/nowhere", None, None), "/nowhere"),
    "wrong method": (405, ("GET", "/predict", None, None), "GET"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_request_answers_4xx_json_and_server_keeps_answering(port, kind):
    status, args, words = BAD[kind]
    a = request(port, *args)
    assert a.status == status, a.body
    assert a.content_type == "application/json"
    error = a.json()["error"]
    assert words in error and "Traceback" not in error
    _still_answers(port)


def test_streamed_body_over_the_limit_is_refused_while_it_arrives(port):
    # chunked: no Content-Length to refuse it from, the server counts what arrives
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    chunks = (b"0," * 50_000 for _ in range(20))  # 2 MB in 100 kB chunks
    conn.request("POST", "/predict", body=chunks, encode_chunked=True,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    assert r.status == 413
    assert "larger than" in json.loads(r.read())["error"]
    conn.close()
    _still_answers(port)


def test_openapi_describes_request_and_answer_bodies(port):
    spec = request(port, "GET", "/openapi.json").json()
    post = spec["paths"]["/predict"]["post"]
    content = post["requestBody"]["content"]
    assert {"inputs", "input", "text", "texts", "top"} <= set(
        content["application/json"]["schema"]["properties"])
    assert content["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok.endswith("/PredictAnswer")
    for code in ("400", "413", "415", "422"):
        ref = post["responses"][code]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorAnswer")
    schemas = spec["components"]["schemas"]
    assert {"class", "probability", "top"} <= set(schemas["Prediction"]["properties"])
    assert request(port, "GET", "/docs").status == 200


def _failing_model(path) -> None:
    """An ONNX model taking LeNet's input that fails when run: 784 values cannot be
    reshaped to [3, -1]."""
    import onnx
    from onnx import TensorProto, helper

    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [3, -1])
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["image", "shape"], ["logits"])], "fails",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [3, None])], [shape])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)


def test_model_failure_answers_500_json_and_server_keeps_serving(folder, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    _failing_model(broken / "model.onnx")
    with http_check.running_server(broken) as p:
        for _ in range(2):
            a = post_json(p, GOOD)
            assert a.status == 500
            error = a.json()["error"]
            assert "model failed" in error and "Traceback" not in error
        assert request(p, "GET", "/health").json() == {"status": "ok"}
