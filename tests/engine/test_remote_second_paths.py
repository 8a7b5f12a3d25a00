"""A remote run of aligned text pairs, a speech set with its transcripts file or sound with
a background-noise folder uploads the data together with those second paths, in one folder
that keeps their places; relative second paths are read from beside the data, locally and
on the host alike."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.data.paths import beside
from engine.project import DatasetSpec
from engine.remote.bundle import dataset_upload, local_dataset_meta, relocate, restore_dataset
from engine.remote.config import RemoteError


def _names(upload) -> list[str]:
    return [rel for _, rel in upload.files]


def _pairs(root: Path) -> tuple[Path, Path]:
    (root / "src").mkdir(parents=True)
    (root / "tgt").mkdir()
    (root / "src" / "train.en").write_text("one\ntwo\n")
    (root / "tgt" / "train.fr").write_text("un\ndeux\n")
    (root / "src" / "unrelated.bin").write_bytes(b"x")
    return root / "src" / "train.en", root / "tgt" / "train.fr"


def test_a_relative_second_path_is_read_from_beside_the_data(tmp_path):
    source, _ = _pairs(tmp_path)
    spec = DatasetSpec(source="pairs", path=str(source), target_path="../tgt/train.fr")
    assert beside(spec, spec.target_path).resolve() == (tmp_path / "tgt" / "train.fr")
    folder = DatasetSpec(source="speech", path=str(tmp_path / "src"), target_path="t.csv")
    assert beside(folder, folder.target_path) == tmp_path / "src" / "t.csv"


def test_aligned_pairs_upload_both_files_and_nothing_else_and_come_back_local(tmp_path):
    source, target = _pairs(tmp_path / "data")
    spec = DatasetSpec(source="pairs", path=str(source), target_path=str(target))
    upload = dataset_upload(spec)
    assert upload.root == tmp_path / "data"
    assert _names(upload) == ["data/src/train.en", "data/tgt/train.fr"]
    assert upload.places == {"path": "src/train.en", "target_path": "tgt/train.fr"}
    host = tmp_path / "host"
    for path, rel in upload.files:
        (host / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, host / rel)
    local = relocate(spec, upload, str(host / "data"))
    assert Path(spec.path).read_text() == "one\ntwo\n"
    assert Path(spec.target_path).read_text() == "un\ndeux\n"
    snapshot = spec.model_dump()
    assert restore_dataset(snapshot, local_dataset_meta(local))
    assert (snapshot["path"], snapshot["target_path"]) == (str(source), str(target))


def test_speech_with_transcripts_and_noise_elsewhere_uploads_their_common_folder(tmp_path):
    clips, noise = tmp_path / "set" / "clips", tmp_path / "set" / "noise"
    clips.mkdir(parents=True)
    noise.mkdir()
    (clips / "a.wav").write_bytes(b"RIFF")
    (noise / "hum.wav").write_bytes(b"RIFF")
    (tmp_path / "set" / "lines.csv").write_text("file,text\na.wav,hello\n")
    spec = DatasetSpec(source="speech", path=str(clips), target_path="../lines.csv",
                       noise_path=str(noise), augment_noise=0.1)
    upload = dataset_upload(spec)
    assert upload.root == tmp_path / "set"
    assert _names(upload) == ["set/clips/a.wav", "set/lines.csv", "set/noise/hum.wav"]
    assert upload.places == {"path": "clips", "target_path": "lines.csv", "noise_path": "noise"}


def test_second_paths_with_nothing_in_common_but_the_root_are_refused(tmp_path):
    source, _ = _pairs(tmp_path / "data")
    spec = DatasetSpec(source="pairs", path=str(source), target_path="/etc/hostname")
    with pytest.raises(RemoteError, match="no folder in common but the file system root"):
        dataset_upload(spec)
