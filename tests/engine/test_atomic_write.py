"""Atomic saves: temp files of killed writers are cleaned up, live ones are left alone,
permissions follow the umask, and every OS failure is a sentence naming the file."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from engine.project import ProjectError, atomic_write_bytes
from tests.engine.killed_writers import SAVE, held_writer, hidden, kill, let_finish


def test_a_killed_savers_temp_file_is_removed_by_the_next_save_and_a_live_ones_kept(
        tmp_path: Path) -> None:
    live = held_writer(SAVE, tmp_path / "live.lforge")
    live_tmp = hidden(tmp_path)
    dead = held_writer(SAVE, tmp_path / "big.lforge")
    dead_tmp = hidden(tmp_path) - live_tmp
    kill(dead)
    assert len(live_tmp) == 1 and len(dead_tmp) == 1
    atomic_write_bytes(tmp_path / "other.lforge", b"next save")
    assert hidden(tmp_path) == live_tmp  # the dead writer's temp file is gone
    assert let_finish(live) == 0  # the live writer was not disturbed
    assert (tmp_path / "live.lforge").stat().st_size == 1_000_000
    assert hidden(tmp_path) == set() and not (tmp_path / "big.lforge").exists()


def test_temp_files_without_a_readable_owner_are_removed_only_when_old(tmp_path: Path) -> None:
    old = tmp_path / ".a.lforge.k3j9_x2q.tmp"  # named by tempfile.mkstemp, before pids
    fresh = tmp_path / ".b.lforge.p0q1r2s3.tmp"
    other_host = tmp_path / ".c.lforge.4242-ffffff.0a1b2c3d.tmp"
    for f in (old, fresh, other_host):
        f.write_bytes(b"partial")
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (day_ago, day_ago))
    os.utime(other_host, (day_ago, day_ago))
    atomic_write_bytes(tmp_path / "x.lforge", b"x")
    assert hidden(tmp_path) == {fresh.name}


@pytest.mark.parametrize("umask", [0o077, 0o002])
def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(
        tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "new.lforge", b"new")
        kept = tmp_path / "kept.lforge"
        kept.write_bytes(b"old")
        os.chmod(kept, 0o604)
        atomic_write_bytes(kept, b"replaced")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.lforge").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(kept.stat().st_mode) == 0o604 and kept.read_bytes() == b"replaced"


def test_a_name_near_the_length_limit_can_be_saved(tmp_path: Path) -> None:
    target = tmp_path / ("n" * 249 + ".json")  # 254 bytes: no room for a long temp suffix
    atomic_write_bytes(target, b"{}")
    assert target.read_bytes() == b"{}" and hidden(tmp_path) == set()


def test_an_os_error_is_a_sentence_naming_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(ProjectError, match=r"cannot write .*notes\.txt/p\.lforge: a part of "
                                           r"the path is not a folder"):
        atomic_write_bytes(blocker / "p.lforge", b"x")
    (tmp_path / "d.lforge").mkdir()
    with pytest.raises(ProjectError, match=r"cannot write .*d\.lforge: it is a folder"):
        atomic_write_bytes(tmp_path / "d.lforge", b"x")
    assert hidden(tmp_path) == set()
