"""A run killed with SIGKILL mid-training and resumed: its usage.json sums both segments,
neither losing the killed one nor counting it twice."""

from __future__ import annotations

import os
import signal
import time

import pytest

from engine.project import save_project
from engine.train.usage import read_usage
from tests.engine.train.helpers import tiny_mlp
from tests.engine.train.test_usage import Cli, _events


def test_kill_9_then_resume_adds_the_segments_once(tmp_path) -> None:
    cli = Cli(tmp_path)
    save_project(tiny_mlp(dataset__samples=3000, training__batch_size=16, training__epochs=500),
                 tmp_path / "m.lforge")
    run = tmp_path / "run"
    proc = cli.popen("train", "m.lforge", "--out", "run", "--quiet")
    try:
        deadline = time.monotonic() + 60
        while not (run / "events.jsonl").is_file() or b"run_started" not in (
                run / "events.jsonl").read_bytes():
            assert time.monotonic() < deadline and proc.poll() is None, "the run did not start"
            time.sleep(0.02)
        started = time.monotonic()
        while (u := read_usage(run)) is None or u.wall_s < 3:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the command and its worker, mid-run
        killed = time.monotonic()
        proc.wait()
    first = read_usage(run)
    assert first is not None and first.segments == 1
    real_first = killed - started  # from run_started seen to the kill
    assert real_first - 1.5 <= first.wall_s <= real_first + 0.5  # written about every second
    epoch = max(e["epoch"] for e in _events(run) if e["type"] == "checkpoint_written")
    cli.run("train", "--resume", "run", "--epochs", str(epoch + 10), "--quiet")
    total = read_usage(run)
    assert total is not None and total.segments == 2
    assert _events(run)[-1]["type"] == "finished"
    second = _events(run)[-1]["seconds"]  # the resumed training's own time
    # the sum of the two segments' real durations: neither lost nor counted twice
    assert total.wall_s == pytest.approx(real_first + second, abs=2.0)
    assert total.core_hours == pytest.approx(total.wall_s / 3600)
