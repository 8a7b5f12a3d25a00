"""Several coordinators share one study in a real PostgreSQL server (tests/pg.py): each in its
own process, as two people or two machines would run them. No trial may be lost or numbered
twice, and with `layerforge sweep` none may be trained twice.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import optuna

ROOT = Path(__file__).resolve().parents[3]


def _run_together(script: str, args_each: list[list[str]], timeout: float) -> list[str]:
    """Start one process per argument list, let them all go at once (each prints "ready" and
    waits for a line on stdin), and return their outputs; each must exit with 0."""
    procs = [subprocess.Popen([sys.executable, "-c", script, *args], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for args in args_each]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        outputs = [p.communicate(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    return [out for out, _ in outputs]


# One process asking and telling K trials on a study that already exists. It says "ready" and
# waits for "go" on stdin, so that both processes create trials at the same moments.
_ASK_TELL = textwrap.dedent("""
    import json, sys, time
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    study = optuna.load_study(study_name=name, storage=url)
    print("ready", flush=True)
    sys.stdin.readline()
    numbers = []
    for _ in range(count):
        trial = study.ask()
        x = trial.suggest_float("x", -1.0, 1.0)
        time.sleep(0.01)  # a trial takes a moment: the other process asks meanwhile
        study.tell(trial, x * x)
        numbers.append(trial.number)
    print(json.dumps(numbers))
""")


def test_two_processes_ask_and_tell_on_one_postgres_study(postgres_url):
    """Optuna alone, the ground the sweep stands on: two processes asking and telling at the
    same moments get distinct trial numbers, and the study holds every trial they asked."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(study_name="shared", storage=postgres_url)  # also creates the tables
    per_process = 30
    outs = _run_together(_ASK_TELL, [[postgres_url, "shared", str(per_process)]] * 2,
                         timeout=60)
    per_proc = [json.loads(out) for out in outs]
    numbers = [n for got in per_proc for n in got]

    assert sorted(numbers) == list(range(2 * per_process))  # distinct, none skipped
    # they really ran at once: neither got one contiguous block of numbers
    assert all(got != list(range(min(got), max(got) + 1)) for got in per_proc), per_proc
    trials = optuna.load_study(study_name="shared", storage=postgres_url).trials
    assert len(trials) == 2 * per_process  # none lost
    assert sorted(t.number for t in trials) == list(range(2 * per_process))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)


# A coordinator opening the shared study, as `layerforge sweep --storage URL` does first.
_OPEN = textwrap.dedent("""
    import sys
    from engine.sweep.study import Objective, open_study
    url = sys.argv[1]
    print("ready", flush=True)
    sys.stdin.readline()
    study = open_study(url, "shared", [Objective("val_accuracy", True)], sampler=None,
                       pruner=None, config={"space": {}, "objectives": ["val_accuracy:max"]})
    print(study.study_name)
""")


def test_two_coordinators_open_a_new_postgres_study_at_once(postgres_server):
    """Two people start the same sweep on an empty database at the same moment: both create
    Optuna's tables at once, and the loser's CREATE fails about every other time unless the
    coordinator tries again. Neither may fail; three fresh databases make a miss unlikely."""
    for round_ in range(3):
        url = postgres_server.create_database(f"open_{round_}")
        outs = _run_together(_OPEN, [[url], [url]], timeout=60)
        assert [o.strip() for o in outs] == ["shared", "shared"]
    assert len(optuna.get_all_study_summaries(url)) == 1


def test_two_sweep_coordinators_share_one_postgres_study(postgres_url, tmp_path):
    """Two `layerforge sweep` processes started together on one study: exactly N trials in
    all, each trained once by one of them in its own run folder, every one finished; the
    trials either asks beyond N are marked surplus and never run."""
    trials = 6
    shutil.copy(ROOT / "resources/examples/mlp.lforge", tmp_path / "mlp.lforge")
    command = [sys.executable, "-m", "engine", "sweep", "mlp.lforge", "--trials", str(trials),
               "--param", "training.lr=float:1e-3..1e-1:log", "--storage", postgres_url,
               "--name", "shared", "--workers", "1", "--epochs", "2", "--pruner", "none",
               "--set", "training.threads=1", "--json"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    procs = [subprocess.Popen(command, cwd=tmp_path, env=env, text=True,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(2)]
    try:
        outputs = [p.communicate(timeout=240) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err

    # each trial ended in exactly one coordinator (the live lines go to stderr with --json)
    ran = [{int(m[1]) for m in re.finditer(r"^trial\s+(\d+)\s", err, re.M)}
           for _, err in outputs]
    assert not ran[0] & ran[1], outputs
    assert ran[0] | ran[1] == set(range(trials)), outputs
    for i, (out, _) in enumerate(outputs):  # each summary reads the whole study, no surplus
        results = json.loads(out)["results"]
        assert [r["number"] for r in results] == list(range(trials))
        # the first to end may see the other's last trial still running
        assert {r["number"] for r in results if r["state"] != "complete"} <= ran[1 - i]

    study = optuna.load_study(study_name="shared", storage=postgres_url)
    counted = [t for t in study.trials if t.number < trials]
    surplus = [t for t in study.trials if t.number >= trials]
    assert [t.number for t in counted] == list(range(trials))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in counted)
    assert len({t.user_attrs["coordinator"] for t in counted}) == 2  # both took part
    for t in surplus:
        assert t.state == optuna.trial.TrialState.FAIL and t.user_attrs.get("surplus")
        assert "run_dir" not in t.user_attrs

    folders = sorted((tmp_path / "runs/sweeps/shared").glob("trial-*"))
    assert [f.name for f in folders] == [f"trial-{n:04d}" for n in range(trials)]
    assert sorted(t.user_attrs["run_dir"] for t in counted) == [str(f) for f in folders]
    for t in counted:
        folder = Path(t.user_attrs["run_dir"])
        record = json.loads((folder / "sweep.json").read_text())
        assert (record["trial"], record["state"]) == (t.number, "complete")
        events = [json.loads(line) for line in (folder / "events.jsonl").open()]
        assert [e["type"] for e in events].count("run_started") == 1  # trained once
        assert [e["epoch"] for e in events if e["type"] == "epoch_ended"] == [1, 2]
