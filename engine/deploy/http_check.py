"""Running a server folder as its user will, and asking it over real HTTP on 127.0.0.1.

Used by the server export's check (:mod:`engine.deploy.bundle`), the tests and the bench:
``python -I server.py`` in a subprocess (any interpreter: this one, or a fresh virtual
environment's), and requests through the standard library's ``http.client``.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


class ServerFailed(RuntimeError):
    """The server did not start, or died; the message ends with the tail of its output."""


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None = None,
            content_type: str | None = None, headers: dict[str, str] | None = None,
            timeout: float = 60.0) -> Answer:
    """One HTTP request to 127.0.0.1:``port``; the status, body and content type."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        head = dict(headers or {})
        if content_type is not None:
            head["Content-Type"] = content_type
        conn.request(method, path, body=body, headers=head)
        r = conn.getresponse()
        return Answer(r.status, r.read(), r.getheader("Content-Type", ""))
    finally:
        conn.close()


def post_json(port: int, body: Any, path: str = "/predict") -> Answer:
    return request(port, "POST", path, json.dumps(body).encode(), "application/json")


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes,
                                                                                          str]:
    """A multipart/form-data body: (bytes, content type). ``files``: field -> (filename,
    data, content type)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    for name, (filename, data, ctype) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
                     + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_file(port: int, filename: str, data: bytes, ctype: str,
              fields: dict[str, str] | None = None) -> Answer:
    body, content_type = multipart(fields or {}, {"file": (filename, data, ctype)})
    return request(port, "POST", "/predict", body, content_type)


@contextmanager
def running_server(folder: Path, *, python: str | os.PathLike[str] = sys.executable,
                   args: Sequence[str] = (), port: int | None = None, timeout: float = 60.0,
                   env: dict[str, str] | None = None) -> Iterator[int]:
    """``python -I -B folder/server.py --port P ARGS`` (no bytecode written into the folder)
    until ``/health`` answers; yields P, and stops the server (SIGTERM, then kill) when the
    block ends."""
    port = port or free_port()
    log = (Path(folder) / ".server.log") if os.access(folder, os.W_OK) else None
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(python), "-I", "-B", str(Path(folder) / "server.py"),
                             "--port", str(port), *args], cwd=folder, stdout=out,
                            stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    try:
        _wait_healthy(proc, port, timeout, log)
        yield port
    finally:
        stop(proc)
        if log:
            out.close()
            log.unlink(missing_ok=True)


def stop(proc: subprocess.Popen, grace: float = 15.0) -> int:
    """SIGTERM, wait, then kill; the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def _tail(log: Path | None) -> str:
    if log is None or not log.is_file():
        return ""
    lines = log.read_text(errors="replace").strip().splitlines()
    errors = [line for line in lines if "error" in line.lower() or line.startswith("server.py")]
    return (errors or lines or [""])[-1]


def _wait_healthy(proc: subprocess.Popen, port: int, timeout: float, log: Path | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerFailed(f"the server exited with code {proc.returncode}: {_tail(log)}")
        try:
            if request(port, "GET", "/health", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise ServerFailed(f"the server did not answer /health within {timeout:g} s: {_tail(log)}")
