"""A remote run uploads its dataset folder, and nothing else: a symbolic link in it that leads
out of it (to a file, a folder, or nowhere) is refused with a sentence naming the link and
its target; links that stay inside are followed like copies; a link loop is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.project import DatasetSpec
from engine.remote.bundle import dataset_files
from engine.remote.config import RemoteError
from engine.remote.runs import push_dataset
from engine.remote.ssh import HostInfo, RemoteHost
from tests.e2e.remote.conftest import host_config
from tests.engine.train.helpers import tiny_mlp


@pytest.fixture
def data(tmp_path) -> Path:
    """A dataset folder (two class folders) beside a private folder."""
    root = tmp_path / "data"
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        (root / cls / "1.png").write_bytes(cls.encode())
    private = tmp_path / "private"
    private.mkdir()
    (private / "id_ed25519").write_bytes(b"PRIVATE KEY")
    return root


def _spec(root: Path) -> DatasetSpec:
    return DatasetSpec(source="folder", path=str(root))


@pytest.mark.parametrize("target", ["private/id_ed25519", "private", "nowhere/at/all"])
def test_a_link_out_of_the_dataset_folder_is_refused(data, target) -> None:
    link = data / "cat" / "2.png"
    os.symlink(data.parent / target, link)
    with pytest.raises(RemoteError) as e:
        dataset_files(_spec(data))
    message = str(e.value)
    assert str(link) in message and str(data.parent / target) in message
    assert "outside the dataset folder" in message


def test_links_that_stay_inside_are_uploaded_like_copies(data) -> None:
    os.symlink(data / "dog", data / "wolf")  # a class folder that is another one
    os.symlink("1.png", data / "cat" / "2.png")  # relative, to a sibling
    os.symlink(data / "dog" / "gone.png", data / "dog" / "dangling.png")  # inside, dangling
    root, files = dataset_files(_spec(data))
    assert [rel for _, rel in files] == ["data/cat/1.png", "data/cat/2.png", "data/dog/1.png",
                                         "data/wolf/1.png"]
    assert all(os.path.realpath(p).startswith(str(data) + os.sep) for p, _ in files)


def test_a_link_loop_is_refused(data) -> None:
    os.symlink(data, data / "cat" / "again")
    with pytest.raises(RemoteError, match="a loop"):
        dataset_files(_spec(data))


def test_nothing_from_outside_reaches_the_host(sshd, env, data) -> None:
    os.symlink(data.parent / "private" / "id_ed25519", data / "cat" / "2.png")
    project = tiny_mlp()
    project.dataset = _spec(data)
    base = env.remote_base
    with (RemoteHost(host_config("loop", sshd, base), lambda *a: True) as host,
          pytest.raises(RemoteError, match="outside the dataset folder")):
        push_dataset(host, HostInfo(base_dir=str(base)), project)
    uploaded = [p.read_bytes() for p in base.rglob("*") if p.is_file()] if base.exists() else []
    assert b"PRIVATE KEY" not in uploaded
