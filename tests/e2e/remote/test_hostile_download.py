"""`layerforge runs download` against a hostile host (asyncssh's SSH server on 127.0.0.1,
see hostile_server.py): a listing that names ``../../x``, an absolute path, ``a/b``, a
backslash, a NUL or nothing, or a remote symbolic link, refuses the whole download before
anything is written, with exit 1 and a sentence naming the host and the entry; an honest
listing downloads as before, also while the run writes: a file removed between the listing
and its copy is skipped and a temp file of a write in progress is not downloaded."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import pytest

from engine.cli import main
from engine.remote.config import HostConfig, RunRecord, add_host, config_dir, record_run
from tests.e2e.remote.hostile_server import HostileServer

RUN = "/runs/r"  # the run folder on the host, as its SFTP server names it
FILES = {"project.lforge": b'{"name": "m"}\n', "metrics.csv": b"epoch,loss\n1,0.5\n",
         "weights.safetensors": b"w" * 100, "checkpoints/last.safetensors": b"c" * 50,
         "samples/epoch1.txt": b"hello\n"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = HostileServer(tmp_path_factory.mktemp("host"), tmp_path_factory.mktemp("keys"))
    yield s
    s.close()


@pytest.fixture
def run(server, env, tmp_path) -> Path:
    """A run "r-1" on the host "hostile" (its files under the server's chroot), recorded
    in the runs index with the local folder work/run; returns that folder."""
    server.root = tmp_path / "host"
    server.extra, server.gone = {}, {}
    for rel, data in FILES.items():
        path = server.root / RUN.lstrip("/") / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    local = tmp_path / "work" / "run"
    local.mkdir(parents=True)
    add_host(HostConfig(name="hostile", host="127.0.0.1", port=server.port,
                        user=getpass.getuser(), key=str(server.client_key), base_dir="/"))
    record_run(RunRecord(id="r-1", host="hostile", local_dir=str(local), remote_dir=RUN))
    server.trust(config_dir())
    return local


def _tree(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` with its type, size and modification time."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            st = os.lstat(os.path.join(folder, name))
            out[os.path.relpath(os.path.join(folder, name), root)] = (st.st_mode, st.st_size,
                                                                      st.st_mtime_ns)
    return out


def test_an_honest_listing_downloads_every_artifact(run, capsys) -> None:
    assert main(["runs", "download", "r-1"]) == 0
    assert "downloaded into" in capsys.readouterr().out
    for rel, data in FILES.items():
        assert (run / rel).read_bytes() == data, rel
    assert not list(run.rglob("*.part"))


@pytest.mark.parametrize("name", ["../../x", "../../../../x", "ABSOLUTE", "a/b", "a\\b",
                                  "nul\0x", ""])
def test_a_hostile_name_refuses_the_whole_download(run, server, tmp_path, capsys, name) -> None:
    if name == "ABSOLUTE":
        name = str(tmp_path / "elsewhere" / "pwned")
    server.extra = {f"{RUN}/checkpoints": [name]}
    before = _tree(tmp_path)
    code = main(["runs", "download", "r-1"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert _tree(tmp_path) == before  # nothing written, inside the run folder or out of it
    assert err.startswith("layerforge: hostile: download refused")
    assert repr(name) in err and "Nothing was downloaded" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("link", ["checkpoints/evil", "samples"])
def test_a_remote_symbolic_link_refuses_the_whole_download(run, server, tmp_path, capsys,
                                                           link) -> None:
    secret = server.root / "secret"  # on the host, outside the run folder
    secret.mkdir()
    (secret / "id_rsa").write_bytes(b"private")
    path = server.root / RUN.lstrip("/") / link
    if path.is_dir():
        for child in path.iterdir():
            child.unlink()
        path.rmdir()
    os.symlink(secret if link == "samples" else secret / "id_rsa", path)
    before = _tree(tmp_path)
    code = main(["runs", "download", "r-1"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert _tree(tmp_path) == before
    assert "hostile" in err and repr(f"{RUN}/{link}") in err and "symbolic link" in err


def test_a_file_the_host_removes_after_listing_it_is_skipped(run, server, capsys) -> None:
    # a training that goes on replaces its checkpoints while it is downloaded: the listing
    # may name one that is gone when its copy starts (a resumed sweep failed on this)
    server.gone = {f"{RUN}/checkpoints": ["epoch-0003.safetensors"]}
    assert main(["runs", "download", "r-1"]) == 0, capsys.readouterr().err
    for rel, data in FILES.items():
        assert (run / rel).read_bytes() == data, rel
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.safetensors"]


def test_a_write_in_progress_on_the_host_is_not_downloaded(run, server, capsys) -> None:
    temp = server.root / RUN.lstrip("/") / "checkpoints" / ".last.safetensors.4242-a1b2c3.k3j4h5.tmp"
    temp.write_bytes(b"half a checkpoint")
    assert main(["runs", "download", "r-1"]) == 0, capsys.readouterr().err
    for rel, data in FILES.items():
        assert (run / rel).read_bytes() == data, rel
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.safetensors"]
