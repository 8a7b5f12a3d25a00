"""Resuming, from the window, a run that another process is writing is refused with the
same sentence the command line prints, and nothing is written to the run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from PySide6.QtCore import Qt

from app.runs.records import add_run_ref
from engine.train.events import Failed, RunStarted
from engine.train.runlock import hold_run
from tests.app.training.conftest import MLP


def test_resume_of_a_run_held_by_another_writer_shows_who_holds_it(qtbot, tw, tmp_path) -> None:
    # a run that looks interrupted (started, never ended): what a run still going in a
    # terminal looks like from the window
    run = tmp_path / "runs" / "busy"
    run.mkdir(parents=True)
    shutil.copy(MLP, run / "project.lforge")
    (run / "events.jsonl").write_text(RunStarted(seq=1, run_dir=str(run)).to_json() + "\n")
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    add_run_ref(tw.document, run)
    tw.refresh_runs()
    folder = str(Path(tw.runs.run_dirs()[0]))
    tw.runs.select_runs([folder])
    assert tw.runs.resume_button.isEnabled()
    with hold_run(run), qtbot.waitSignal(tw.runner.run_ended, timeout=60000) as ended:
        qtbot.mouseClick(tw.runs.resume_button, Qt.MouseButton.LeftButton)
    assert isinstance(ended.args[0], Failed)
    shown = tw.panel.message.text()
    assert shown.startswith(f"run {run} is being written by process {os.getpid()} "
                            "(layerforge train, started ")
    assert shown.endswith("; wait for it or stop it")
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.name != ".lock"} == before
