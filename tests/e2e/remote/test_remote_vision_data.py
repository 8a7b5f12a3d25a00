"""A remote segmentation or detection run uploads the images together with the annotations
and class-names file found beside them (or given), in one folder that keeps their relative
places; the host's project names the uploaded copies, the fetched snapshot the local ones.
Too wide an upload (the disk or the home folder) and links out of the folder are refused."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from engine.data.annotations import read
from engine.project import DatasetSpec, Node, load_project, save_project
from engine.remote.bundle import (
    dataset_upload,
    local_dataset_meta,
    relocate,
    restore_dataset,
)
from engine.remote.config import RemoteError, load_runs
from tests.e2e.remote.conftest import Env
from tests.e2e.remote.test_remote_cli import _add
from tests.engine import vision_projects
from tests.engine.data import annotation_files as af

SIZE = vision_projects.SIZE


def yolo_set(root: Path, n: int = 8, labels_dir: str = "labels") -> Path:
    """``root/images/img{k}.png`` with one box each in ``root/{labels_dir}/img{k}.txt`` and
    the two class names in ``root/classes.txt``; returns the images folder."""
    for k in range(n):
        af.image(root / "images" / f"img{k}.png", (SIZE, SIZE), value=20 * k)
        af.yolo_txt(root / labels_dir / f"img{k}.txt", [(k % 2, 0.5, 0.5, 0.4, 0.3)])
    (root / "classes.txt").write_text("cat\ndog\n")
    return root / "images"


def _names(upload) -> list[str]:
    return [rel for _, rel in upload.files]


def test_detected_labels_and_classes_beside_the_images_are_uploaded_and_nothing_else(tmp_path):
    images = yolo_set(tmp_path / "set", n=2)
    (tmp_path / "set" / "notes").mkdir()
    (tmp_path / "set" / "notes" / "big.bin").write_bytes(b"not read by the set")
    upload = dataset_upload(DatasetSpec(source="detection", path=str(images)))
    assert upload.root == tmp_path / "set"
    assert _names(upload) == ["set/classes.txt", "set/images/img0.png", "set/images/img1.png",
                              "set/labels/img0.txt", "set/labels/img1.txt"]
    assert upload.places == {"path": "images"}  # annotations and labels: found on the host


def _host_copy(upload, host: Path) -> str:
    """Lay the upload out as the host does; the host path of its root."""
    for path, rel in upload.files:
        (host / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, host / rel)
    return str(host / upload.root.name)


def test_explicit_places_under_a_common_parent_are_rewritten_and_restored(tmp_path):
    project = tmp_path / "proj"
    yolo_set(project / "data", n=3, labels_dir="elsewhere")
    photos = project / "data" / "photos"
    (project / "data" / "images").rename(photos)
    (project / "ann").mkdir()
    (project / "data" / "elsewhere").rename(project / "ann" / "yolo")
    (project / "meta").mkdir()
    (project / "data" / "classes.txt").rename(project / "meta" / "names.txt")
    spec = DatasetSpec(source="detection", path=str(photos),
                       annotations=str(project / "ann" / "yolo"),
                       labels=str(project / "meta" / "names.txt"))
    local = read(spec)
    upload = dataset_upload(spec)
    assert upload.root == project
    assert upload.places == {"path": "data/photos", "annotations": "ann/yolo",
                             "labels": "meta/names.txt"}
    host = spec.model_copy()
    root = _host_copy(upload, tmp_path / "host")
    old = relocate(host, upload, root)
    assert (host.path, host.annotations, host.labels) == (
        f"{root}/data/photos", f"{root}/ann/yolo", f"{root}/meta/names.txt")
    there = read(host)  # the host finds the same set in its copy
    assert there.classes == local.classes == ["cat", "dog"]
    def boxes(parsed) -> list:
        return [[(b.cls, b.x0, b.y0, b.x1, b.y1) for b in e.boxes] for e in parsed.entries]

    assert len(there.entries) == 3 and boxes(there) == boxes(local)
    # the fetched snapshot gets the local places back, through remote.json
    meta = json.loads(json.dumps(local_dataset_meta(old)))
    snapshot = host.model_dump(mode="json")
    assert restore_dataset(snapshot, meta)
    assert DatasetSpec.model_validate(snapshot) == spec


def test_old_runs_meta_restores_the_path_only() -> None:
    snapshot = {"source": "folder", "path": "/host/data/x", "labels": "/host/l.txt"}
    assert restore_dataset(snapshot, {"local_dataset": "/here/x"})
    assert snapshot == {"source": "folder", "path": "/here/x", "labels": "/host/l.txt"}
    assert not restore_dataset(snapshot, {"local_dataset": ""})


def test_masks_beside_the_images_are_uploaded_for_segmentation(tmp_path):
    images = af.seg_folder(tmp_path / "seg", n=2)  # seg/images and seg/masks
    upload = dataset_upload(DatasetSpec(source="segmentation", path=str(images)))
    assert upload.root == tmp_path / "seg"
    assert _names(upload) == ["seg/images/img0.png", "seg/images/img1.png",
                              "seg/masks/img0.png", "seg/masks/img1.png"]


def test_a_common_parent_that_is_the_home_folder_is_refused(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    images = yolo_set(home / "a", n=1)
    labels = home / "b" / "classes.txt"
    labels.parent.mkdir()
    (home / "a" / "classes.txt").rename(labels)
    with pytest.raises(RemoteError) as e:
        dataset_upload(DatasetSpec(source="detection", path=str(images), labels=str(labels)))
    message = str(e.value)
    assert f"your home folder, {home}" in message and "beside the data" in message
    # a folder holding the home folder is as wide
    monkeypatch.setenv("HOME", str(home / "a" / "user"))
    with pytest.raises(RemoteError, match="a folder that holds your home folder"):
        dataset_upload(DatasetSpec(source="detection", path=str(images), labels=str(labels)))


def test_a_common_parent_that_is_the_root_is_refused(tmp_path):
    images = yolo_set(tmp_path / "set", n=1)
    other = next((d for d in ("/var/tmp", "/dev/shm") if Path(d).is_dir()
                  and Path(d).parts[1] != tmp_path.parts[1]), None)
    if other is None:
        pytest.skip("no writable folder outside the temporary folder's top folder")
    with tempfile.TemporaryDirectory(dir=other) as far:
        labels = Path(far) / "classes.txt"
        labels.write_text("cat\ndog\n")
        with pytest.raises(RemoteError, match="the file system root, /: too much to upload"):
            dataset_upload(DatasetSpec(source="detection", path=str(images), labels=str(labels)))


def test_a_link_out_of_the_common_folder_is_refused(tmp_path):
    images = yolo_set(tmp_path / "set", n=1)
    secret = tmp_path / "private" / "id_ed25519"
    secret.parent.mkdir()
    secret.write_text("0 0.5 0.5 0.1 0.1\n")
    (tmp_path / "set" / "labels" / "img9.txt").symlink_to(secret)
    with pytest.raises(RemoteError, match="outside the dataset folder") as e:
        dataset_upload(DatasetSpec(source="detection", path=str(images)))
    assert str(secret) in str(e.value)
    # the images folder itself leading out of the folder uploaded
    (tmp_path / "set" / "labels" / "img9.txt").unlink()
    shutil.move(images, tmp_path / "private" / "images")
    images.symlink_to(tmp_path / "private" / "images")
    with pytest.raises(RemoteError, match="outside the dataset folder"):
        dataset_upload(DatasetSpec(source="detection", path=str(images)))


def test_a_detection_set_with_labels_beside_the_images_trains_on_the_host(sshd, env: Env):
    images = yolo_set(env.root / "set")
    classes = env.root / "set" / "classes.txt"
    project = vision_projects.tiny_detector()
    project.dataset = DatasetSpec(source="detection", path=str(images), labels=str(classes),
                                  val_fraction=0.25, augment_flip=False)
    graph = project.graphs["model"]
    graph.nodes = [Node(id=n.id, type=n.type, params={"classes": 2, "width": 8})
                   if n.type == "DetectionHead" else n for n in graph.nodes]
    save_project(project, env.root / "d.lforge")
    _add(env, sshd)
    env.lf("remote", "test", "loop", "--accept-new-host-key", check=True)
    r = env.lf("train", "d.lforge", "--remote", "loop", "--epochs", "1", "--out", "run",
               check=True)
    assert "finished 1 epoch" in r.stdout
    rec = load_runs()[0]
    job = json.loads(Path(rec.remote_dir, "job.json").read_text())["project"]["dataset"]
    uploaded = Path(job["path"]).parent
    assert uploaded.is_relative_to(env.remote_base / "data") and uploaded.name == "set"
    assert job["labels"] == str(uploaded / "classes.txt") and job["annotations"] == ""
    assert (uploaded / "labels" / "img7.txt").is_file()
    fetched = load_project(env.root / "run" / "project.lforge").dataset
    assert (fetched.path, fetched.labels, fetched.annotations) == (str(images), str(classes), "")
