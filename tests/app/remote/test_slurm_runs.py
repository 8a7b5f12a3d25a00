"""A Slurm job followed in the window: the session's queued Status shows the scheduler's
reason until the run starts, Stop stays possible and says it cancels the job, and the Runs
list shows a queued job (and a failed job's reason) from the runs index. The events are fed
by a scripted source, as the engine's RemoteSession yields them."""

from __future__ import annotations

import json
import threading

import pytest

from app.runs.records import add_run_ref
from engine.remote.config import HostConfig, RunRecord, add_host, record_run
from engine.train.events import Failed, RunStarted, Status, Stopped

QUEUED = "Queued — waiting for resources (Slurm: Resources)"


class ScriptedSource:
    """Yields each list of events of ``steps`` once the test lets it (``next_step``); Stop
    lets the last one out."""

    def __init__(self, *steps) -> None:
        self.steps = list(steps)
        self.gates = [threading.Event() for _ in steps]
        self.gates[0].set()
        self.stopped = False

    def events(self):
        for gate, step in zip(self.gates, self.steps, strict=True):
            assert gate.wait(30)
            yield from step

    def next_step(self, i: int) -> None:
        self.gates[i].set()

    def stop(self) -> None:
        self.stopped = True
        self.gates[-1].set()

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def close(self) -> None:
        for g in self.gates:
            g.set()


@pytest.fixture
def job(ws, tmp_path, config_dir):
    """A run folder of a Slurm job on "cluster1", queued in the runs index, in the project."""
    add_host(HostConfig(name="cluster1", host="login.example.org", kind="slurm",
                        partition="gpu", nodes=2, gpus_per_node=4))
    run = tmp_path / "runs" / "chain-slurm"
    run.mkdir(parents=True)
    rec = RunRecord(id="chain-slurm-1", host="cluster1", local_dir=str(run.resolve()),
                    status="queued", job_id="4242", nodes=2, gpus=4, reason="Resources")
    (run / "remote.json").write_text(json.dumps(rec.model_dump(mode="json")))
    record_run(rec)
    add_run_ref(ws.document, run)
    return run.resolve(), rec


def test_a_queued_job_shows_the_reason_until_it_runs_then_stop_keeps_a_checkpoint(ws, qtbot, job):
    t = ws.training
    run, rec = job
    t.refresh_runs()
    assert t.runs.status_of(str(run)) == "queued"
    source = ScriptedSource([Status(state="queued", text=QUEUED)],
                            [RunStarted(run_dir=str(run), device="cuda:0")],
                            [Stopped(epoch=0)])
    assert t._submit(lambda: source, str(run), "Connecting to cluster1…")  # as Train does
    qtbot.waitUntil(lambda: t.runner.state == "queued")
    assert t.runs.status_of(str(run)) == "queued"  # the live run, still waiting
    assert t.panel.status.text() == QUEUED
    assert t.panel.worker_state.text() == "queued on the cluster"
    assert t.stop_action.isEnabled() and not t.pause_action.isEnabled()

    source.next_step(1)  # the scheduler starts the job: the run's own news replace it
    qtbot.waitUntil(lambda: t.runner.state == "running")
    assert "Training" in t.panel.status.text() and "Queued" not in t.panel.status.text()
    assert t.panel.worker_state.text() == "training"
    (run / "events.jsonl").write_text(RunStarted(run_dir=str(run)).to_json() + "\n")
    record_run(rec.model_copy(update={"status": "running", "reason": ""}))
    t.refresh_runs()
    assert t.runs.status_of(str(run)) != "queued"

    with qtbot.waitSignal(t.runner.run_ended, timeout=10_000):
        t.stop_action.trigger()
    assert source.stopped
    assert "Stopping the Slurm job 4242 on cluster1" in t.panel.message.text()
    assert "checkpoint" in t.panel.message.text()


def test_stop_on_a_job_still_in_the_queue_says_it_is_cancelled(ws, qtbot, job):
    t = ws.training
    run, _rec = job
    source = ScriptedSource([Status(state="queued", text=QUEUED)], [Stopped(epoch=0)])
    assert t._submit(lambda: source, str(run), "Connecting to cluster1…")
    qtbot.waitUntil(lambda: t.runner.state == "queued")
    with qtbot.waitSignal(t.runner.run_ended, timeout=10_000):
        t.stop_action.trigger()
    assert source.stopped
    assert "Cancelling the Slurm job 4242 on cluster1 (scancel)" in t.panel.message.text()


def test_the_runs_list_names_the_scheduler_reason_of_a_failed_job(ws, job):
    t = ws.training
    run, rec = job
    (run / "events.jsonl").write_text(RunStarted(run_dir=str(run)).to_json() + "\n"
                                      + Failed(message="The job ended.").to_json() + "\n")
    record_run(rec.model_copy(update={"status": "failed", "reason": "TimeLimit"}))
    summaries = {s.run_dir: s for s in t.refresh_runs()}
    s = summaries[str(run)]
    assert s.status == "failed"
    assert "The job reached its time limit (Slurm: TimeLimit)." in s.message


def test_a_requeued_job_waits_again_with_its_reason(ws, job):
    t = ws.training
    run, rec = job  # it ran, was preempted, and waits in the queue again
    (run / "events.jsonl").write_text(RunStarted(run_dir=str(run)).to_json() + "\n")
    record_run(rec.model_copy(update={"status": "queued", "reason": "Priority"}))
    s = {s.run_dir: s for s in t.refresh_runs()}[str(run)]
    assert s.status == "queued"
    assert "Queued (Slurm: Priority) — waiting for jobs with a higher priority" in s.message
    t.runs.select_runs([str(run)])
    assert t.runs.attach_button.isEnabled()  # follow it again


def test_opening_the_project_follows_a_queued_job_again(ws, job, monkeypatch):
    t = ws.training
    run, _rec = job
    followed: list[str] = []
    monkeypatch.setattr(t.remote, "attach", followed.append)  # no cluster to reach here
    t.remote.follow_detached(t.refresh_runs())
    assert followed == [str(run)]
