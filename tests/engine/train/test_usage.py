"""What a run cost (RUN/usage.json): a real local training through `layerforge train` (a
real worker process), a price, `runs list` and the model card. The kill -9 and resume case
is in test_usage_resume.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.project import save_project
from engine.train.usage import Usage, add_segment, project_total, read_usage
from tests.engine.train.helpers import tiny_mlp

ROOT = Path(__file__).resolve().parents[3]


class Cli:
    """`python -m engine` in a folder, with its own config dir (prices, runs index)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "HOME": str(folder), "LAYERFORGE_CONFIG_DIR": str(folder / "config")}

    def run(self, *args: str) -> subprocess.CompletedProcess:
        r = subprocess.run([sys.executable, "-m", "engine", *args], cwd=self.folder,
                           env=self.env, capture_output=True, text=True, timeout=200)
        assert r.returncode == 0, r.stdout + r.stderr
        return r

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "engine", *args], cwd=self.folder,
                                env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)


def _events(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished run (2 threads) in runs/priced, trained after `remote price local 0.5
    --currency EUR`, and the time its command took; runs/unpriced is a copy whose record
    says it ran without a price (as the run would have before the price was set)."""
    folder = tmp_path_factory.mktemp("usage")
    cli = Cli(folder)
    project = tiny_mlp(dataset__samples=1500, training__epochs=3, training__threads=2)
    project.name = "spiral cost"
    save_project(project, folder / "m.lforge")
    cli.run("remote", "price", "local", "0.5", "--currency", "EUR")
    t0 = time.monotonic()
    cli.run("train", "m.lforge", "--out", "runs/priced", "--quiet")
    cli_s = time.monotonic() - t0
    shutil.copytree(folder / "runs" / "priced", folder / "runs" / "unpriced")
    record = folder / "runs" / "unpriced" / "usage.json"
    data = json.loads(record.read_text())
    record.write_text(json.dumps(data | {"price_per_hour": None, "cost": None}))
    return cli, folder / "runs", cli_s


def test_a_local_run_records_its_wall_time_core_hours_and_memory(runs) -> None:
    _, folder, cli_s = runs
    u = read_usage(folder / "priced")
    assert u is not None
    finished = _events(folder / "priced")[-1]
    assert finished["type"] == "finished"
    # the job's time: at least the training's own, at most the whole command's
    assert finished["seconds"] <= u.wall_s < cli_s
    assert (u.host, u.host_kind, u.device, u.gpus, u.processes, u.nodes, u.segments) == (
        "local", "local", "cpu", 0, 1, 1, 1)
    assert u.cores == 2  # training.threads
    assert u.core_hours == pytest.approx(u.wall_s / 3600 * 2)
    assert u.gpu_hours == 0 and u.peak_gpu_memory_mb is None
    assert 100 < u.peak_memory_mb < 8000  # a process with torch loaded


def test_a_price_for_this_machine_gives_the_cost(runs) -> None:
    cli, folder, _ = runs
    u = read_usage(folder / "priced")
    assert u is not None and u.currency == "EUR" and u.price_per_hour == 0.5
    assert u.cost == pytest.approx(u.wall_s / 3600 * 0.5)
    assert "local: 0.5 EUR per hour" in cli.run("remote", "price", "local").stdout


def test_runs_list_shows_usage_columns_and_the_project_total(runs) -> None:
    cli, folder, _ = runs
    out = cli.run("runs", "list", "runs").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["id", "host", "status", "started", "project", "wall", "compute",
                                "peak", "mem", "cost"]
    unpriced = next(line for line in lines if line.startswith("unpriced"))
    priced = next(line for line in lines if line.startswith("priced"))
    assert "core-h" in priced and "MB" in priced and "EUR" in priced
    assert "no price" in unpriced
    total = next(line for line in lines if line.startswith("total spiral cost:"))
    assert "2 runs" in total and "core-h" in total and "EUR" in total
    assert "1 without a price" in total


def test_the_model_card_states_the_training_cost(runs) -> None:
    from engine.export.card_runs import usage_section  # what the card calls
    from engine.export.common import load_source

    _, folder, _ = runs
    section = "\n".join(usage_section(load_source(folder / "priced")))
    assert "## Training cost" in section
    assert "local (cpu, 2 cores)" in section and "core-h" in section
    assert "Cost:" in section and "EUR" in section and "0.5 EUR per hour" in section
    section = "\n".join(usage_section(load_source(folder / "unpriced")))
    assert "no price set for local" in section


def test_segments_add_and_a_mixed_price_leaves_the_cost_unknown() -> None:
    a = Usage(wall_s=3600, core_hours=2, segments=1, price_per_hour=1.0, cost=1.0,
              peak_memory_mb=300)
    b = Usage(wall_s=1800, core_hours=1, segments=1, price_per_hour=2.0, cost=1.0,
              peak_memory_mb=200)
    both = add_segment(a, b)
    assert (both.wall_s, both.core_hours, both.segments, both.cost, both.peak_memory_mb) == (
        5400, 3, 2, 2.0, 300)
    assert add_segment(a, Usage(wall_s=10, segments=1)).cost is None
    assert add_segment(a, Usage(wall_s=10, segments=1, cost=1, currency="EUR")).cost is None
    total = project_total([both, None, Usage(wall_s=1, segments=1, cost=3, currency="EUR")])
    assert total["runs"] == 2 and total["cost"] == {"USD": 2.0, "EUR": 3.0}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_peak_memory_is_the_programs_own_not_the_size_of_the_process_that_started_it():
    # getrusage's ru_maxrss survives fork + exec: a worker started by a 1 GB app would
    # report 1 GB for a small run. The meter reads the program's own peak.
    big = bytearray(1024 * 2**20)
    for i in range(0, len(big), 4096):
        big[i] = 1
    code = ("from engine.train.usage_meter import _peak_rss_mb\n"
            "import resource\n"
            "print(_peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.split()
    own, rusage = float(out[0]), float(out[1])
    del big
    assert own < 200, f"{own:.0f} MB for a bare interpreter (getrusage says {rusage:.0f} MB)"
