"""Weights from the Hugging Face Hub through huggingface_hub, against a loopback Hub.

A user depends on: the files arriving intact (the Hub's advertised checksum checked), the
cache serving them again without the network, a clear sentence when they cannot be had
(unknown or gated repository, offline and not cached, a pickle-only repository, a
damaged download), and Cancel stopping a download without leaving a half file that
passes for a whole one.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from engine.errors import UserError
from engine.zoo import hub as zhub
from tests.engine.zoo.hubserver import (
    hub_fixture,  # noqa: F401 - the hub fixture
    sha256,
)

REPO = "acme/tiny-net"


def _weights(n: int = 200_000) -> bytes:
    # any bytes: fetch never parses the file
    return bytes((i * 7919) % 251 for i in range(n))


def _blobs(root: Path) -> list[Path]:
    return [p for p in root.rglob("blobs/*") if p.is_file()]


def test_download_resolves_commit_and_reports_progress(hub):
    data = _weights()
    config = json.dumps({"model_type": "resnet"}).encode()
    commit = hub.add(REPO, {"model.safetensors": data, "config.json": config})
    seen: list[tuple[int, int]] = []

    paths = zhub.fetch(f"hf:{REPO}", "main", ["config.json", "model.safetensors"],
                       progress=lambda done, total: seen.append((done, total)))

    assert paths[0].read_bytes() == config
    assert paths[1].read_bytes() == data
    assert zhub.resolved_commit(paths[1]) == commit
    assert seen[-1] == (len(data), len(data))
    assert all(0 <= d <= t for d, t in seen)
    assert Path(os.environ["HF_HOME"]) in paths[1].parents  # the cache HF_HOME names
    assert zhub.is_cached(REPO, "main") and zhub.is_cached(REPO, commit)
    assert not zhub.is_cached(REPO, "main", "other.safetensors")


def test_cached_files_are_used_offline_and_without_network(hub, monkeypatch):
    data = _weights()
    commit = hub.add(REPO, {"model.safetensors": data})
    first = zhub.fetch(REPO, commit, ["model.safetensors"])[0]
    zhub.fetch(REPO, "main", ["model.safetensors"])
    before = len(hub.requests)

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert zhub.fetch(REPO, "main", ["model.safetensors"])[0] == first
    assert zhub.fetch(REPO, commit, ["model.safetensors"])[0] == first
    assert len(hub.requests) == before  # not one request offline

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")  # network down
    assert zhub.fetch(REPO, "main", ["model.safetensors"])[0].read_bytes() == data


def test_not_cached_offline_or_without_network_says_so(hub, monkeypatch):
    hub.add(REPO, {"model.safetensors": _weights(1000)})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match=r"not in the cache .*offline mode is on"):
        zhub.fetch(REPO, "main", ["model.safetensors"])
    assert hub.requests == []

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(UserError, match=r"cannot reach the Hugging Face Hub .*not in the cache"):
        zhub.fetch(REPO, "main", ["model.safetensors"])


def test_damaged_download_is_refused_and_not_kept(hub):
    data = _weights()
    hub.add(REPO, {"model.safetensors": data})
    hub.corrupt.add("model.safetensors")
    with pytest.raises(UserError, match=r"damaged: its sha256 .* the Hub advertised"):
        zhub.fetch(REPO, "main", ["model.safetensors"])
    assert _blobs(Path(os.environ["HF_HOME"])) == []  # nothing passes for the file later

    hub.corrupt.clear()
    path = zhub.fetch(REPO, "main", ["model.safetensors"])[0]
    assert path.read_bytes() == data


def test_recorded_sha256_must_match(hub):
    data = _weights(5000)
    hub.add(REPO, {"model.safetensors": data})
    ok = zhub.fetch(REPO, "main", ["model.safetensors"], sha256={"model.safetensors": sha256(data)})
    assert ok[0].read_bytes() == data
    with pytest.raises(UserError, match="the project records"):
        zhub.fetch(REPO, "main", ["model.safetensors"], sha256={"model.safetensors": "0" * 64})


def test_cancel_stops_the_download_and_leaves_no_file(hub):
    data = _weights(3 * 1024 * 1024)  # three of the 1 MiB pieces progress reports
    hub.add(REPO, {"model.safetensors": data})
    hub.chunk_delay = 0.001
    seen: list[int] = []

    def cancel() -> bool:
        return bool(seen) and seen[-1] > 0

    with pytest.raises(UserError, match="^cancelled"):
        zhub.fetch(REPO, "main", ["model.safetensors"],
                   progress=lambda done, total: seen.append(done), cancel=cancel)
    assert 0 < seen[-1] < len(data)
    home = Path(os.environ["HF_HOME"])
    assert _blobs(home) == []  # no blob, complete or partial
    assert not any(home.rglob("snapshots/*/model.safetensors"))

    hub.chunk_delay = 0.0
    assert zhub.fetch(REPO, "main", ["model.safetensors"])[0].read_bytes() == data


def test_cancel_before_starting(hub):
    hub.add(REPO, {"model.safetensors": _weights(100)})
    with pytest.raises(UserError, match="^cancelled"):
        zhub.fetch(REPO, "main", ["model.safetensors"], cancel=lambda: True)
    assert hub.gets() == []


def test_pickle_only_repository_is_refused_without_downloading_the_pickle(hub):
    hub.add(REPO, {"config.json": b"{}", "pytorch_model.bin": _weights(3000)})
    with pytest.raises(UserError, match=r"only as pytorch_model\.bin, a pickle file, which "
                                        r"LayerForge never loads"):
        zhub.fetch(REPO, "main", ["model.safetensors"])
    assert hub.gets("pytorch_model.bin") == []


def test_only_safetensors_and_json_are_fetched(hub):
    hub.add(REPO, {"pytorch_model.bin": _weights(100)})
    for name in ("pytorch_model.bin", "modeling.py", "../x.json"):
        with pytest.raises(UserError, match="only fetches safetensors and JSON"):
            zhub.fetch(REPO, "main", [name])
    assert hub.requests == []


def test_unknown_gated_and_wrong_names(hub):
    hub.add("acme/gated", {"model.safetensors": _weights(100)}, gated=True)
    hub.add(REPO, {"model.safetensors": _weights(100)})
    with pytest.raises(UserError, match="no such model on the Hugging Face Hub"):
        zhub.fetch("hf:acme/missing", "main", ["model.safetensors"])
    with pytest.raises(UserError, match="is gated: accept its conditions"):
        zhub.fetch("hf:acme/gated", "main", ["model.safetensors"])
    with pytest.raises(UserError, match="has no revision 'v9'"):
        zhub.fetch(REPO, "v9", ["model.safetensors"])
    with pytest.raises(UserError, match="has no file config.json"):
        zhub.fetch(REPO, "main", ["config.json"])
    for bad in ("hf:resnet", "hf:a/b/c", "hf:../x", ""):
        with pytest.raises(UserError, match="is not a Hugging Face model id"):
            zhub.fetch(bad, "main", ["model.safetensors"])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
