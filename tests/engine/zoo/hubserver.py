"""A loopback imitation of the Hugging Face Hub's file endpoints, for huggingface_hub.

``hf_hub_download`` (huggingface_hub 2.4) sends ``HEAD {endpoint}/{repo}/resolve/{revision}/
{file}`` and reads ``X-Repo-Commit`` (the commit the revision resolves to), ``X-Linked-Etag``
or ``ETag`` (the file's id: sha256 for LFS files, the git blob sha1 for others; the cache
names the blob after it) and ``X-Linked-Size`` or ``Content-Length``; errors carry
``X-Error-Code`` (RepoNotFound, GatedRepo, RevisionNotFound, EntryNotFound). Then it sends
``GET`` for the same URL (with ``Range`` when it resumes). This server answers exactly that
on 127.0.0.1, from repositories held in memory.

The ``hub`` fixture (import ``hub_fixture`` into a test module) starts one and points ``HF_ENDPOINT`` and ``HF_HOME`` at it and at a
temporary folder (``HF_HUB_OFFLINE`` unset).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's id


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Repo:
    commit: str
    files: dict[str, bytes]
    gated: bool = False


@dataclass
class HubServer:
    """In-memory repositories served like the Hub. ``requests`` records (method, path);
    files named in ``corrupt`` are served with their bytes changed (same length, the
    advertised checksum of the right bytes); ``chunk_delay`` sleeps between 16 KiB chunks
    of a GET body (to cancel a download midway)."""

    base: str = ""
    repos: dict[str, Repo] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    corrupt: set[str] = field(default_factory=set)
    chunk_delay: float = 0.0

    def add(self, repo: str, files: dict[str, bytes], gated: bool = False,
            commit: str = "") -> str:
        """Publish ``files`` as ``repo``'s main (at ``commit``, else a made-up sha);
        returns the commit sha."""
        if not commit:
            digest = hashlib.sha1(repo.encode())  # noqa: S324 - a git-like commit id
            for name in sorted(files):
                digest.update(name.encode() + files[name])
            commit = digest.hexdigest()
        self.repos[repo] = Repo(commit, dict(files), gated)
        return commit

    def gets(self, name: str = "") -> list[str]:
        return [p for m, p in self.requests if m == "GET" and p.endswith(name)]


_RESOLVE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


def _handler(state: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
            self._answer(body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(body=True)

        def _error(self, status: int, code: str, commit: str | None = None) -> None:
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", code)
            if commit:
                self.send_header("X-Repo-Commit", commit)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _answer(self, body: bool) -> None:
            state.requests.append((self.command, self.path))
            match = _RESOLVE.match(self.path.split("?")[0])
            if not match:
                self._error(404, "RepoNotFound")
                return
            repo_id, revision, name = (unquote(g) for g in match.groups())
            repo = state.repos.get(repo_id)
            if repo is None:
                self._error(401, "RepoNotFound")
                return
            if repo.gated and not self.headers.get("authorization"):
                self._error(401, "GatedRepo")
                return
            if revision not in ("main", repo.commit):
                self._error(404, "RevisionNotFound")
                return
            data = repo.files.get(name)
            if data is None:
                self._error(404, "EntryNotFound", repo.commit)
                return
            lfs = name.endswith(LFS_SUFFIXES)
            etag = sha256(data) if lfs else git_blob_sha1(data)
            served = data
            if name in state.corrupt:
                served = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
            start = 0
            wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
            if body and wanted and int(wanted.group(1)) < len(served):
                start = int(wanted.group(1))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(served) - 1}/{len(served)}")
            else:
                self.send_response(200)
            self.send_header("X-Repo-Commit", repo.commit)
            self.send_header("ETag", f'"{etag}"')
            if lfs:
                self.send_header("X-Linked-Etag", f'"{etag}"')
                self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("Content-Length", str(len(served) - start))
            self.end_headers()
            if not body:
                return
            payload = served[start:]
            step = 16 * 1024
            try:
                for i in range(0, len(payload), step):
                    self.wfile.write(payload[i:i + step])
                    if state.chunk_delay:
                        self.wfile.flush()
                        time.sleep(state.chunk_delay)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(name="hub")
def hub_fixture(tmp_path, monkeypatch):
    """A running :class:`HubServer`; HF_ENDPOINT and HF_HOME point at it and a tmp folder."""
    state = HubServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", state.base)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def publish_resnet18(hub):
    """A random ResNet-18 classifier in the Hub's layout (transformers builds it), published
    as microsoft/resnet-18; returns its state dict."""
    import torch
    import transformers
    from safetensors.torch import save

    from engine.zoo.catalog import entry, entry_config

    config = {k: v for k, v in entry_config(entry("resnet18")).items()
              if k not in ("model_type", "architectures")}
    torch.manual_seed(0)
    model = transformers.ResNetForImageClassification(transformers.ResNetConfig(**config))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    hub.add("microsoft/resnet-18", {"model.safetensors": save(state)})
    return state
