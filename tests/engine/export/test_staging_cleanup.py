"""Export staging folders: a killed export's folder is removed by the next export into the
same place, a running export's is left alone, and exported files follow the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from engine.export.common import staged
from tests.engine.killed_writers import EXPORT, held_writer, hidden, kill, let_finish


def test_a_killed_exports_staging_folder_is_removed_by_the_next_export(tmp_path: Path) -> None:
    live = held_writer(EXPORT, tmp_path / "live")
    live_stage = hidden(tmp_path)
    dead = held_writer(EXPORT, tmp_path / "dead")
    dead_stage = hidden(tmp_path) - live_stage
    kill(dead)
    assert len(live_stage) == 1 and len(dead_stage) == 1
    with staged(tmp_path / "next") as stage:
        stage.path("model.py").write_text("# model\n")
    assert hidden(tmp_path) == live_stage  # the killed export's folder is gone
    assert let_finish(live) == 0
    assert (tmp_path / "live" / "model.onnx").stat().st_size == 1_000_000
    assert hidden(tmp_path) == set() and not (tmp_path / "dead").exists()


@pytest.mark.parametrize("umask", [0o077, 0o002])
def test_exported_files_and_folders_follow_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        with staged(tmp_path / "out") as stage:
            stage.path("model.py").write_text("# model\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o777 & ~umask
    assert stat.S_IMODE((tmp_path / "out" / "model.py").stat().st_mode) == 0o666 & ~umask
