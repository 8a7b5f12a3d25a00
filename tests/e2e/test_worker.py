"""The worker protocol with real worker processes: round trip, control, exact resume after
SIGKILL, and a dying worker reported as Failed."""

from __future__ import annotations

import json
import os
import signal

import torch
from safetensors.torch import load_file

from engine.train.events import (
    CheckpointWritten,
    EpochEnded,
    Failed,
    Finished,
    Paused,
    Progress,
    Resumed,
    Stopped,
    from_json,
)
from engine.train.worker_client import WorkerClient
from tests.crashing_worker import command as crashing_worker
from tests.engine.train.helpers import tiny_mlp


def _run(project, run_dir, *, command=None, resume=False):
    client = WorkerClient(command)
    with client:
        client.submit(project, run_dir, resume=resume)
        return list(client.events()), client


def test_events_round_trip_with_contiguous_seq_and_match_events_jsonl(tmp_path) -> None:
    events, _ = _run(tiny_mlp(), tmp_path / "run")
    assert isinstance(events[-1], Finished)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    logged = [from_json(line) for line in (tmp_path / "run/events.jsonl").read_text().splitlines()]
    assert logged == events
    assert all(from_json(e.to_json()) == e for e in events if not isinstance(e, Progress)
               or all(v == v for v in e.losses))


def test_pause_holds_the_run_and_resume_and_stop_work(tmp_path) -> None:
    project = tiny_mlp(training__epochs=200)
    with WorkerClient() as client:
        client.submit(project, tmp_path / "run")
        events = client.events()
        next(e for e in events if isinstance(e, EpochEnded))
        client.pause()
        paused = next(e for e in events if isinstance(e, Paused))  # said before it waits
        client.resume()
        resumed = next(events)
        assert isinstance(resumed, Resumed)  # nothing trained in between
        assert (resumed.seq, resumed.step) == (paused.seq + 1, paused.step)
        next(e for e in events if isinstance(e, EpochEnded))
        client.stop()
        last = list(events)[-1]
    assert isinstance(last, Stopped) and last.epoch < 200
    logged = [from_json(x) for x in (tmp_path / "run/events.jsonl").read_text().splitlines()]
    assert paused in logged and resumed in logged  # a re-attached reader sees the pause too


def test_resume_after_sigkill_gives_bit_identical_weights(tmp_path) -> None:
    project = tiny_mlp(training__epochs=4, training__schedule="cosine")
    events, _ = _run(project, tmp_path / "whole")
    assert isinstance(events[-1], Finished)
    events, client = _run(project, tmp_path / "killed", command=crashing_worker("kill-after", "2"))
    assert isinstance(events[-1], Failed) and "SIGKILL" in events[-1].message
    assert client.proc.returncode == -signal.SIGKILL
    assert [e.epoch for e in events if isinstance(e, CheckpointWritten)][-1] == 2
    events, _ = _run(project, tmp_path / "killed", resume=True)
    assert isinstance(events[-1], Finished) and events[-1].epochs == 4
    a = load_file(tmp_path / "whole/weights.safetensors")
    b = load_file(tmp_path / "killed/weights.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    seqs = [json.loads(x)["seq"] for x in (tmp_path / "killed/events.jsonl").read_text().splitlines()]
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_segfaulting_worker_is_reported_as_failed_with_its_stderr(tmp_path) -> None:
    events, _ = _run(tiny_mlp(), tmp_path / "run", command=crashing_worker("segv"))
    (failed,) = events
    assert isinstance(failed, Failed)
    assert "SIGSEGV" in failed.message
    assert "crashing on purpose" in failed.detail


def test_a_worker_killed_from_outside_is_reported_as_failed(tmp_path) -> None:
    with WorkerClient() as client:
        client.submit(tiny_mlp(training__epochs=200), tmp_path / "run")
        events = client.events()
        next(e for e in events if isinstance(e, Progress))
        os.kill(client.pid, signal.SIGKILL)
        last = list(events)[-1]
    assert isinstance(last, Failed) and "SIGKILL" in last.message


def test_a_warm_worker_says_ready_before_the_job(tmp_path) -> None:
    with WorkerClient() as client:
        ready = client.wait_ready()
        assert ready is not None and ready.pid == client.pid
        import torch  # what the worker's torch sees, so the editor need not import it

        assert list(ready.gpus) == [torch.cuda.get_device_name(i)
                                    for i in range(torch.cuda.device_count())]
        client.submit(tiny_mlp(training__epochs=1), tmp_path / "run")
        assert isinstance(list(client.events())[-1], Finished)
