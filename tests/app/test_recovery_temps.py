"""At start the app removes the temp files that killed autosaves left in the recovery
folder, and leaves alone those of a LayerForge that is still saving."""

from __future__ import annotations

from tests.engine.killed_writers import SAVE, held_writer, hidden, kill, let_finish


def test_app_start_removes_a_killed_autosaves_temp_file_and_keeps_a_live_ones(
        request, config_dir) -> None:
    folder = config_dir / "recovery"
    folder.mkdir(parents=True)
    live = held_writer(SAVE, folder / "other-window.lforge.recovery")
    live_tmp = hidden(folder)
    dead = held_writer(SAVE, folder / "crashed.lforge.recovery")
    kill(dead)
    assert len(hidden(folder) - live_tmp) == 1
    try:
        request.getfixturevalue("window")  # the app starts
        assert hidden(folder) == live_tmp
    finally:
        assert let_finish(live) == 0
    assert hidden(folder) == set()
