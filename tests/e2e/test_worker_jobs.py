"""One worker process running many jobs (``"reuse": true``, a sweep's local lane), with
real worker processes: the jobs train exactly as each would in a new process, a stop meant
for one job never reaches the next, a malformed job fails alone, and a process that dies
mid-job fails that job only."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
import torch
from safetensors.torch import load_file

from engine.train.events import EpochEnded, Failed, Finished, Notice, Progress, Stopped
from engine.train.reused_worker import ReusedWorker
from engine.train.source import Job
from engine.train.worker_client import WorkerClient
from tests.engine.train.helpers import tiny_mlp

# two different jobs: other seeds, optimizer, schedule and thread count
FIRST = tiny_mlp(training__epochs=3, training__seed=1, training__schedule="cosine")
SECOND = tiny_mlp(training__epochs=2, training__seed=2, training__optimizer="sgd",
                  training__threads=2)


def _weights(run_dir) -> dict[str, torch.Tensor]:
    return load_file(f"{run_dir}/weights.safetensors")


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def workers() -> Iterator[dict[str, WorkerClient | ReusedWorker]]:
    """Every process the tests need, started together (each imports torch for seconds):
    one reused by the tests in turn (each leaves it waiting for a job), two used once, and
    a ReusedWorker's first."""
    started = {"reused": WorkerClient(), "first": WorkerClient(), "second": WorkerClient(),
               "lane": ReusedWorker()}
    for worker in started.values():
        worker.start()
    yield started
    for worker in started.values():
        worker.close()


def test_two_jobs_in_one_process_train_bit_identically_to_two_processes(workers,
                                                                        tmp_path) -> None:
    for name, project in (("first", FIRST), ("second", SECOND)):
        with workers[name] as client:
            client.submit(project, tmp_path / "fresh" / name)
            assert isinstance(list(client.events())[-1], Finished)
    client = workers["reused"]
    client.submit(FIRST, tmp_path / "reused" / "first", reuse=True)
    assert isinstance(list(client.events())[-1], Finished)
    pid = client.pid
    assert client.alive  # waiting for the next job, not exited
    client.submit(SECOND, tmp_path / "reused" / "second", reuse=True)
    assert isinstance(list(client.events())[-1], Finished)
    assert client.pid == pid and client.alive
    for name in ("first", "second"):
        assert _same(_weights(tmp_path / "fresh" / name), _weights(tmp_path / "reused" / name))


def test_a_stop_for_one_job_never_reaches_the_next(workers, tmp_path) -> None:
    client = workers["reused"]
    client.submit(tiny_mlp(training__epochs=200), tmp_path / "long", reuse=True)
    events = client.events()
    next(e for e in events if isinstance(e, EpochEnded))
    client.stop()
    assert isinstance(list(events)[-1], Stopped)
    client.stop()  # late: the job it was meant for has ended
    client.submit(tiny_mlp(training__epochs=3), tmp_path / "next", reuse=True)
    done = list(client.events())
    assert isinstance(done[-1], Finished) and done[-1].epochs == 3
    assert not any(isinstance(e, Stopped) for e in done)


def test_a_malformed_job_fails_alone_and_the_worker_goes_on(workers, tmp_path) -> None:
    with workers["reused"] as client:
        client.submit(tiny_mlp(training__epochs=1), tmp_path / "one", reuse=True)
        assert isinstance(list(client.events())[-1], Finished)
        client.submit({"graphs": "not a project"}, tmp_path / "bad", reuse=True)
        (bad,) = list(client.events())
        assert isinstance(bad, Failed) and "malformed job" in bad.message
        assert not (tmp_path / "bad").exists()
        client.submit(tiny_mlp(training__epochs=1), tmp_path / "three", reuse=True)
        assert isinstance(list(client.events())[-1], Finished)
    assert client.proc.returncode == 0  # end of input ended it, after a finished job


def test_a_process_dying_mid_job_fails_that_job_and_the_next_runs_on_a_new_one(workers,
                                                                               tmp_path):
    worker = workers["lane"]
    run = worker.run(Job(tiny_mlp(training__epochs=200).model_dump(mode="json"),
                         str(tmp_path / "killed")))
    events = run.events()
    next(e for e in events if isinstance(e, Progress))
    first_pid = worker.pid
    os.kill(first_pid, signal.SIGKILL)
    rest = list(events)
    assert isinstance(rest[-2], Notice) and isinstance(rest[-1], Failed)
    assert "SIGKILL" in rest[-1].message
    run.stop()  # the dead job's controls go nowhere
    again = list(worker.run(Job(tiny_mlp().model_dump(mode="json"),
                                str(tmp_path / "next"))).events())
    assert isinstance(again[-1], Finished)
    assert worker.pid not in (None, first_pid)
