"""A run on an SSH host (the loopback sshd) records that host and its price in usage.json,
which comes back with the run's files."""

from __future__ import annotations

import pytest

from engine.project import save_project
from engine.remote.config import load_runs
from engine.train.usage import read_usage
from tests.e2e.remote.conftest import Env
from tests.e2e.remote.test_remote_cli import _add
from tests.engine.train.helpers import tiny_mlp


def test_a_remote_run_records_its_host_and_the_hosts_price(sshd, env: Env) -> None:
    _add(env, sshd)
    env.lf("remote", "price", "loop", "2.5", "--currency", "EUR", check=True)
    save_project(tiny_mlp(dataset__samples=800), env.root / "m.lforge")
    env.lf("train", "m.lforge", "--remote", "loop", "--epochs", "2", "--out", "run",
           "--accept-new-host-key", check=True)
    u = read_usage(env.root / "run")  # downloaded with the artifacts
    assert u is not None
    assert (u.host, u.host_kind, u.segments) == ("loop", "ssh", 1)
    assert u.price_per_hour == 2.5 and u.currency == "EUR"
    assert u.wall_s > 0 and u.cost == pytest.approx(u.wall_s / 3600 * 2.5)
    rec = load_runs()[0]
    assert (env.root / "run" / "usage.json").read_bytes() == (
        env.remote_base / "runs" / rec.id / "usage.json").read_bytes()
    out = env.lf("runs", "list", check=True).stdout
    row = next(line for line in out.splitlines() if line.startswith(rec.id))
    assert "loop" in row and "EUR" in row
