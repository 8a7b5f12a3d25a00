"""Real HTTP load on a prediction server on 127.0.0.1: what bench_deploy measures with.

The server runs in its own process (``python -I server.py --port P`` in an exported server
folder, as a user starts it), so the figures include uvicorn, FastAPI, the JSON or
multipart parsing and ONNX Runtime, and nothing of the client but its socket time. Clients
are threads, each holding one keep-alive connection (``http.client``), all started together;
a phase stops after ``max_requests`` requests or ``max_seconds`` seconds, whichever comes
first, so a slow or stuck server cannot hang the benchmark.

A request fails when the connection breaks, the status is not 200, or ``check`` rejects the
answer; the first few failures are kept as sentences so a failed run says why.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
#: seconds a request may take before it counts as failed (and its connection is reopened)
REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Request:
    """One HTTP request to send; ``label`` is handed to ``check`` with the answer."""

    path: str
    body: bytes
    content_type: str
    label: object = None
    method: str = "POST"


@dataclass
class LoadResult:
    """What one phase measured: counts, wall time and each successful request's latency."""

    clients: int
    requests: int = 0
    failures: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    correct: int = 0  # answers ``check`` called right (see :func:`run_load`)
    errors: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def percentile_ms(self, q: float) -> float:
        """The ``q``-th percentile (0..100) of the successful requests' latency, nearest rank."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, -(-len(ordered) * q // 100))  # ceil(n q / 100), at least the first
        return 1000.0 * ordered[int(rank) - 1]


def json_request(samples: list, label: object = None) -> Request:
    """``POST /predict`` with ``{"inputs": samples}`` (nested number lists)."""
    body = json.dumps({"inputs": samples}, separators=(",", ":")).encode()
    return Request("/predict", body, "application/json", label)


def file_request(data: bytes, filename: str, content_type: str, label: object = None) -> Request:
    """``POST /predict`` with the multipart form field ``file``, as a browser or curl -F sends."""
    boundary = f"lfbench{uuid.uuid4().hex}"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
            f"\r\nContent-Type: {content_type}\r\n\r\n").encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    return Request("/predict", body, f"multipart/form-data; boundary={boundary}", label)


Check = Callable[[bytes, object], bool]


def run_load(port: int, requests: Sequence[Request], *, clients: int, max_requests: int,
             max_seconds: float, check: Check | None = None, host: str = HOST) -> LoadResult:
    """Send ``requests`` round-robin from ``clients`` concurrent keep-alive connections.

    ``check(answer_body, request.label)`` returns whether the answer is right; an answer it
    cannot read should raise, which counts the request as failed. Right answers are counted
    in ``correct`` (a wrong prediction is not a failed request)."""
    if not requests:
        raise ValueError("run_load needs at least one request")
    result = LoadResult(clients=clients)
    lock = threading.Lock()
    issued = 0
    start = threading.Barrier(clients + 1)
    deadline = 0.0  # set when the barrier opens

    def take() -> int | None:
        nonlocal issued
        with lock:
            if issued >= max_requests or time.perf_counter() >= deadline:
                return None
            issued += 1
            return issued - 1

    def client() -> None:
        conn: http.client.HTTPConnection | None = None
        latencies: list[float] = []
        failures = correct = 0
        errors: list[str] = []
        start.wait()
        while (i := take()) is not None:
            req = requests[i % len(requests)]
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
                conn.request(req.method, req.path, body=req.body,
                             headers={"Content-Type": req.content_type})
                resp = conn.getresponse()
                body = resp.read()
                elapsed = time.perf_counter() - t0
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}: {body[:200]!r}")
                if check is not None and check(body, req.label):
                    correct += 1
                latencies.append(elapsed)
            except Exception as e:  # noqa: BLE001 - every way a request goes wrong is a failure
                failures += 1
                if len(errors) < 3:
                    errors.append(f"{type(e).__name__}: {e}")
                if conn is not None:
                    conn.close()
                conn = None  # a broken keep-alive connection is reopened
        if conn is not None:
            conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.failures += failures
            result.correct += correct
            result.errors.extend(errors[: max(0, 5 - len(result.errors))])

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    deadline = t0 + max_seconds
    start.wait()
    for t in threads:
        t.join(max_seconds + REQUEST_TIMEOUT + 5)
    result.seconds = time.perf_counter() - t0
    result.requests = issued
    return result


def free_port(host: str = HOST) -> int:
    """A port nothing listens on now (the OS picks it; the server binds it moments later)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServerProcess:
    """``python -I server.py --port P`` (or another command) in ``folder``, as a context manager:
    started, waited for until ``GET /health`` answers, stopped (terminate, then kill) on exit.
    Its output goes to ``log`` so that a server that fails to start can say why."""

    def __init__(self, folder: Path, log: Path, command: Sequence[str] | None = None,
                 port: int | None = None, ready_timeout: float = 90.0) -> None:
        self.folder, self.log, self.port = Path(folder), Path(log), port or free_port()
        self.command = list(command or [sys.executable, "-I", "server.py"])
        self.command += ["--host", HOST, "--port", str(self.port)]
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAYERFORGE_")}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(self.command, cwd=self.folder, stdout=out,
                                         stderr=subprocess.STDOUT, env=env)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server in {self.folder} exited with {self.proc.returncode}"
                                   f" before answering: {self.tail()}")
            try:
                status, _ = get(self.port, "/health", timeout=2.0)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server in {self.folder} did not answer /health within "
                           f"{self.ready_timeout:.0f} s: {self.tail()}")

    def tail(self, chars: int = 1500) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def get(port: int, path: str, timeout: float = 10.0, host: str = HOST) -> tuple[int, bytes]:
    """One ``GET`` on a fresh connection: (status, body)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()
