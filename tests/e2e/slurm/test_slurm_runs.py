"""Training on a real Slurm cluster (one node, this machine) through its login node."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from engine.project import save_project
from engine.remote.config import load_runs
from tests.e2e.remote.conftest import Env
from tests.e2e.slurm.conftest import add_cluster
from tests.engine.train.helpers import tiny_mlp


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _wait(what: str, ready, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_submit_and_follow_to_the_end(cluster, login, env: Env) -> None:
    add_cluster(env, login, "c1", "--time-limit", "10:00", "--price-per-hour", "2")
    save_project(tiny_mlp(dataset__samples=800), env.root / "m.lforge")
    r = env.lf("train", "m.lforge", "--remote", "c1", "--epochs", "2", "--out", "run",
               "--accept-new-host-key", check=True)
    assert "submitted Slurm job" in r.stdout and "finished 2 epochs" in r.stdout, r.stdout
    run = env.root / "run"
    rec = load_runs()[0]
    assert rec.job_id.isdigit() and rec.status == "finished" and rec.host == "c1"
    events = _events(run / "events.jsonl")
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert (run / "events.jsonl").read_bytes() == Path(rec.remote_dir, "events.jsonl").read_bytes()
    assert (run / "weights.safetensors").is_file()
    script = Path(rec.remote_dir, "slurm.sh").read_text()
    assert "--requeue" in script and "--signal=B:USR1@" in script and "--time=10:00" in script
    assert f"Slurm job {rec.job_id}" in (run / "agent.log").read_text()
    usage = json.loads((run / "usage.json").read_text())  # what the run cost, brought back
    assert (usage["host"], usage["host_kind"], usage["nodes"]) == ("c1", "slurm", 1)
    assert usage["wall_s"] > 0 and usage["cost"] == pytest.approx(usage["wall_s"] / 3600 * 2)
    r = env.lf("evaluate", "run", "--json", check=True)
    assert "accuracy" in json.loads(r.stdout)


def test_a_waiting_job_is_shown_queued_with_its_reason_and_stop_cancels_it(
        cluster, login, env: Env) -> None:
    from engine.remote.config import get_host
    from engine.remote.runs import follow, send_control, start_run
    from engine.remote.ssh import RemoteHost

    add_cluster(env, login, "c1")
    # another job holds every CPU of the one node: ours waits for resources
    filler = cluster.run("sbatch", "--parsable", f"--cpus-per-task={cluster.cpus}",
                         "--output=/dev/null", "--wrap", "sleep 120").stdout.strip()
    try:
        _wait("the filler job to run", lambda: "RUNNING" in cluster.run(
            "scontrol", "show", "job", "-o", filler).stdout)
        with RemoteHost(get_host("c1"), confirm_host_key=lambda *a: True) as host:
            rec = start_run(host, tiny_mlp(), env.root / "run")
            assert rec.status == "queued" and rec.job_id
            events = follow(host, rec, poll=0.1)
            news = next(events)
            if "resources" not in news.text:  # the scheduler gives its reason a moment later
                news = next(events)
            assert news.type == "status" and news.state == "queued", news
            assert "waiting for resources" in news.text and rec.job_id in news.text
            queued = load_runs()[0]
            assert queued.status == "queued" and queued.reason == "Resources"
            send_control(host, rec, "stop")  # still in the queue: cancelled
            last = list(events)[-1]
        assert last.type == "stopped" and last.checkpoint == ""
        assert load_runs()[0].status == "stopped"
        assert "CANCELLED" in cluster.run("scontrol", "show", "job", "-o", rec.job_id).stdout
    finally:
        cluster.run("scancel", filler, check=False)


def test_a_failing_batch_script_tells_the_user_why(cluster, login, env: Env, tmp_path) -> None:
    import sys

    # the compute nodes' Python is broken while the login node's works (a classic)
    wrapper = tmp_path / "python"
    wrapper.write_text("#!/bin/sh\nif [ -n \"$SLURM_JOB_ID\" ]; then\n"
                       "  echo 'python: error while loading shared libraries: libtorch_cpu.so' >&2\n"
                       f"  exit 127\nfi\nexec {sys.executable} \"$@\"\n")
    wrapper.chmod(0o755)
    add_cluster(env, login, "c1", python=str(wrapper))
    save_project(tiny_mlp(), env.root / "m.lforge")
    r = env.lf("train", "m.lforge", "--remote", "c1", "--out", "run", "--accept-new-host-key")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "the batch script failed (exit status 127)" in r.stderr, r.stderr
    assert "libtorch_cpu.so" in r.stderr
    rec = load_runs()[0]
    assert rec.status == "failed" and rec.reason == "NonZeroExitCode"
    assert _events(env.root / "run" / "events.jsonl")[-1]["type"] == "failed"


def _remote_types(rec) -> list[str]:
    path = Path(rec.remote_dir, "events.jsonl")
    return [e["type"] for e in _events(path)] if path.is_file() else []


def test_time_limit_and_requeue_lose_nothing_bitwise(cluster, login, env: Env) -> None:
    from engine.remote.config import get_host
    from engine.remote.runs import download_artifacts, follow, start_run
    from engine.remote.ssh import RemoteHost

    add_cluster(env, login, "c1")
    project = tiny_mlp(dataset__samples=3000, training__batch_size=16, training__epochs=40)
    with RemoteHost(get_host("c1"), confirm_host_key=lambda *a: True) as host:
        ref = start_run(host, project, env.root / "ref")  # never interrupted (the other CPU)
        rec = start_run(host, project, env.root / "run")
        job = rec.job_id

        def progressed_after(n_started: int) -> bool:
            types = _remote_types(rec)
            return types.count("run_started") == n_started and types[-1] == "progress"

        # the time-limit warning (what --signal=B:USR1@... sends the batch shell): the
        # training checkpoints, the batch script requeues the job, which resumes
        _wait("the first attempt to train", lambda: progressed_after(1))
        cluster.run("scancel", "--batch", "--signal=USR1", job)
        _wait("the second attempt to train", lambda: progressed_after(2))
        # a requeue by the scheduler (as a preemption): SIGTERM, checkpoint, back in the queue
        cluster.run("scontrol", "requeue", job)
        seen = [ev for ev in follow(host, rec, poll=0.1)]
        assert seen[-1].type == "finished", seen[-1]
        download_artifacts(host, rec)
        assert [ev.type for ev in follow(host, ref, poll=0.1)][-1] == "finished"
        download_artifacts(host, ref)
    statuses = [ev.text for ev in seen if ev.type == "status"]
    assert any("requeued" in text for text in statuses), statuses
    events = _events(env.root / "run" / "events.jsonl")
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    requeues = [e for e in events if e["type"] == "warning" and e["kind"] == "requeue"]
    started = [e for e in events if e["type"] == "run_started"]
    assert len(requeues) == 2 and len(started) == 3, [e["type"] for e in events][:40]
    assert 0 < started[1]["resumed_from"] < started[2]["resumed_from"]
    assert not any(e["type"] in ("stopped", "failed") for e in events)
    a = load_file(env.root / "run" / "weights.safetensors")
    b = load_file(env.root / "ref" / "weights.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] == b[k]).all(), f"{k} differs from the uninterrupted run"
    assert load_runs()[-1].status == "finished" or load_runs()[0].status == "finished"


def test_two_process_gloo_ddp_under_srun(cluster, login, env: Env) -> None:
    add_cluster(env, login, "c1")
    # plain SGD, equal halves of every global batch (as tests/e2e/remote/test_ddp.py)
    save_project(tiny_mlp(dataset__samples=640, training__optimizer="sgd",
                          training__momentum=0.0, training__schedule="none",
                          training__batch_size=64, training__lr=0.1), env.root / "m.lforge")
    r = env.lf("train", "m.lforge", "--remote", "c1", "--gpus", "2", "--out", "run",
               "--accept-new-host-key", check=True)
    assert "2 CPU processes each" in r.stdout and "finished 2 epochs" in r.stdout, r.stdout
    rec = load_runs()[0]
    script = Path(rec.remote_dir, "slurm.sh").read_text()
    # two Slurm tasks, each a torchrun of one process, meeting in the c10d rendezvous
    assert "--ntasks-per-node=2" in script and "--nnodes=2 --nproc-per-node=1" in script
    assert "--rdzv-backend=c10d" in script
    rank0 = load_file(Path(rec.remote_dir, "weights.safetensors"))
    rank1 = load_file(Path(rec.remote_dir, ".rank1", "weights.safetensors"))
    for k in rank0:
        assert (rank0[k] == rank1[k]).all(), f"ranks disagree on {k}"
    assert not Path(rec.remote_dir, ".rank1", "events.jsonl").exists()
