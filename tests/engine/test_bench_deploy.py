"""The deploy benchmark's HTTP load generator, against a real uvicorn server on 127.0.0.1:
it counts every request, reports failures instead of hiding them, keeps to its time bound,
and says why a server that does not start did not start."""

import json
import sys
import textwrap
import time

import pytest

from bench.deploy_http import ServerProcess, file_request, json_request, run_load

STAND_IN = textwrap.dedent('''
    """A stand-in prediction server: answers the class of the first input's first number."""
    import argparse
    import asyncio

    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI()

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.post("/predict")
    async def predict(request: Request):
        if request.headers["content-type"].startswith("multipart/form-data"):
            form = await request.form()
            data = await form["file"].read()
            return {"task": "classification", "predictions": [{"class": str(len(data))}]}
        body = await request.json()
        value = body["inputs"][0][0]
        if value < 0:
            return JSONResponse({"error": "negative"}, status_code=500)
        if value >= 100:
            await asyncio.sleep(0.2)
        return {"task": "classification", "predictions": [{"class": str(value)}]}

    if __name__ == "__main__":
        p = argparse.ArgumentParser()
        p.add_argument("--host")
        p.add_argument("--port", type=int)
        a = p.parse_args()
        uvicorn.run(app, host=a.host, port=a.port, log_level="warning")
''')


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stand-in")
    (folder / "server.py").write_text(STAND_IN)
    with ServerProcess(folder, folder / "server.log") as server:
        yield server


def said_class(body: bytes, label: object) -> bool:
    return json.loads(body)["predictions"][0]["class"] == str(label)


def test_every_request_is_sent_answered_and_timed(stand_in):
    requests = [json_request([[i]], label=i) for i in range(7)]
    got = run_load(stand_in.port, requests, clients=16, max_requests=400, max_seconds=60,
                   check=said_class)
    assert (got.requests, got.failures, got.correct) == (400, 0, 400)
    assert len(got.latencies) == 400
    assert 0 < got.percentile_ms(50) <= got.percentile_ms(99) <= 1000 * max(got.latencies)
    assert got.per_second > 0


def test_uploaded_files_arrive_whole(stand_in):
    data = bytes(range(256)) * 3  # binary, with CR/LF bytes inside
    req = file_request(data, "x.png", "image/png", label=len(data))
    got = run_load(stand_in.port, [req], clients=2, max_requests=20, max_seconds=30,
                   check=said_class)
    assert (got.requests, got.failures, got.correct) == (20, 0, 20)


def test_failed_requests_are_counted_with_the_reason_and_the_load_goes_on(stand_in):
    requests = [json_request([[1]], label=1), json_request([[-1]], label=-1)]
    got = run_load(stand_in.port, requests, clients=1, max_requests=10, max_seconds=30,
                   check=said_class)
    assert (got.requests, got.failures, got.correct) == (10, 5, 5)
    assert "HTTP 500" in got.errors[0]


def test_a_phase_stops_at_its_time_bound(stand_in):
    slow = [json_request([[100]], label=100)]  # the stand-in takes 0.2 s for these
    t0 = time.perf_counter()
    got = run_load(stand_in.port, slow, clients=2, max_requests=10_000, max_seconds=0.5)
    assert time.perf_counter() - t0 < 3
    assert 2 <= got.requests <= 12 and got.failures == 0


def test_a_server_that_exits_says_why(tmp_path):
    (tmp_path / "server.py").write_text("raise SystemExit('no model.onnx here')\n")
    server = ServerProcess(tmp_path, tmp_path / "server.log", [sys.executable, "-I", "server.py"])
    with pytest.raises(RuntimeError, match="no model.onnx here"), server:
        pass
