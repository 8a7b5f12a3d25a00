"""One writer per run folder: a second `layerforge train --resume` of a run in progress is
refused with a sentence naming the process that writes it, and writes nothing; the lock of
a process that was killed is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.train import train
from engine.train.events import Failed, Finished
from engine.train.rundir import RunDir, record
from tests.engine.train.helpers import tiny_mlp

ROOT = Path(__file__).resolve().parents[2]
ENV = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}

# a process that takes a run folder's lock as a writer would, then waits
HOLDER = """
import sys
from engine.train.runlock import acquire
acquire(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()
"""


def _lf(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "engine", *args], cwd=cwd, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _events(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


def _wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _holder(run: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(run)], cwd=ROOT, env=ENV,
                            text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*")}


def test_a_second_resume_of_a_run_in_progress_is_refused_naming_the_writer(tmp_path) -> None:
    run = tmp_path / "run"
    assert isinstance(list(record(train(tiny_mlp(training__epochs=1), run), RunDir(run)))[-1],
                      Finished)
    first = _lf("train", "--resume", str(run), "--epochs", "100000", "--quiet", cwd=tmp_path)
    try:
        _wait_until(lambda: sum(e["type"] == "progress" for e in _events(run)) > 3, 120,
                    "the first resume to train")
        second = subprocess.run([sys.executable, "-m", "engine", "train", "--resume", str(run),
                                 "--epochs", "1"],
                                cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=240)
        assert second.returncode == 1 and "Traceback" not in second.stderr
        writer = json.loads((run / ".lock").read_text())["pid"]  # the first run's worker
        said = second.stderr.strip().splitlines()[-1]
        assert said.startswith(f"layerforge: run {run} is being written by process {writer} "
                               "(layerforge train, started ")
        assert said.endswith(f"on host {os.uname().nodename}; wait for it or stop it")
    finally:
        first.send_signal(signal.SIGINT)  # Ctrl-C: the first run stops, keeping a checkpoint
        first.communicate(timeout=120)
    assert first.returncode == 0
    events = _events(run)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events if e["type"] in ("run_started", "failed")] == \
        ["run_started", "run_started"]  # the refused resume wrote nothing


def test_a_refused_writer_yields_one_failed_event_and_touches_nothing(tmp_path) -> None:
    run = tmp_path / "run"
    holder = _holder(run)
    try:
        before = _snapshot(run)
        events = list(record(train(tiny_mlp(), run), RunDir(run)))
        assert len(events) == 1 and isinstance(events[0], Failed)
        assert f"is being written by process {holder.pid} " in events[0].message
        assert _snapshot(run) == before
    finally:
        holder.communicate(timeout=30)


def test_the_lock_of_a_killed_writer_is_taken_over(tmp_path) -> None:
    run = tmp_path / "run"
    holder = _holder(run)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    assert json.loads((run / ".lock").read_text())["pid"] == holder.pid  # its note is left
    last = list(record(train(tiny_mlp(training__epochs=1), run), RunDir(run)))[-1]
    assert isinstance(last, Finished)
    assert (run / ".lock").read_text() == ""  # released, and nobody is named any more


def test_a_second_remote_agent_on_a_run_folder_touches_nothing(tmp_path) -> None:
    """On an SSH host the agent is the writer: a second one started on the same run folder
    (a resume racing a run still going) is refused before it writes agent.pid, exit.json
    or an event, so the first run does not look ended."""
    from engine.remote.agent import EXIT, JOB, PID

    run = tmp_path / "run"
    run.mkdir()
    job = {"project": tiny_mlp().model_dump(mode="json"), "resume": False, "overrides": {}}
    (run / JOB).write_text(json.dumps(job))
    holder = _holder(run)
    try:
        before = _snapshot(run)
        agent = subprocess.run([sys.executable, "-m", "engine.remote.agent", str(run)],
                               cwd=ROOT, env=ENV, text=True, capture_output=True, timeout=120)
        assert agent.returncode == 1
        assert f"process {holder.pid}" in agent.stderr
        assert _snapshot(run) == before
        assert not (run / PID).exists() and not (run / EXIT).exists()
    finally:
        holder.communicate("\n", timeout=30)
