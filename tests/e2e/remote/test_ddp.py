"""Data-parallel training with torchrun (2 processes, gloo on CPU), through the host agent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from safetensors.torch import load_file

from tests.engine.train.helpers import tiny_mlp

ROOT = Path(__file__).resolve().parents[3]


def _job(folder: Path) -> Path:
    # plain SGD, no momentum, no dropout/BN; 512 train points, batch 64: every global batch
    # splits into two equal halves, so DDP's averaged gradient is the full-batch gradient
    project = tiny_mlp(dataset__samples=640, training__optimizer="sgd", training__momentum=0.0,
                       training__schedule="none", training__batch_size=64, training__lr=0.1)
    folder.mkdir()
    (folder / "job.json").write_text(json.dumps({"project": project.model_dump(mode="json")}))
    return folder


def _agent(*prefix: str, run: Path) -> None:
    r = subprocess.run([sys.executable, *prefix, "-m", "engine.remote.agent", str(run)],
                       cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=200)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]


def test_two_process_ddp_matches_one_process_full_batch(tmp_path) -> None:
    ddp, single = _job(tmp_path / "ddp"), _job(tmp_path / "single")
    _agent("-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", run=ddp)
    _agent(run=single)
    rank0 = load_file(ddp / "weights.safetensors")
    rank1 = load_file(ddp / ".rank1" / "weights.safetensors")
    one = load_file(single / "weights.safetensors")
    assert rank0.keys() == one.keys()
    for k in rank0:
        assert (rank0[k] == rank1[k]).all(), f"ranks disagree on {k}"
        assert (rank0[k] - one[k]).abs().max() < 1e-5, k
    # only rank 0 wrote the run's events, contiguous
    seqs = [json.loads(x)["seq"] for x in (ddp / "events.jsonl").read_text().splitlines()]
    assert seqs == list(range(1, len(seqs) + 1))
    assert not (ddp / ".rank1" / "events.jsonl").exists()
