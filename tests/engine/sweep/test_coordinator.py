"""The sweep loop with real worker processes: infeasible points are refused before any
run, a failing trial is recorded and the sweep goes on, and a sequential sweep with a seed
samples the same parameters again."""

from __future__ import annotations

import pytest

from engine.sweep.coordinator import TrialEnded, TrialStarted
from engine.sweep.results import SWEEP_FILE

from .sweep_helpers import coordinator, spirals, starts, sweep_file


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    """A grid over a learning rate that diverges (SGD at 100) and an output layer too small
    for the three classes: 4 points, of which only two train."""
    runs = tmp_path_factory.mktemp("grid") / "runs"
    events = []
    c = coordinator(spirals(epochs=3, **{"training.optimizer": "sgd"}), runs,
                    ["training.lr=choice:0.05,100", "fc3.out_features=choice:3,2"], 4,
                    sampler="grid", listener=events.append)
    return c, c.run(), events


def test_the_sweep_ends_with_its_n_trials_each_told(grid_sweep):
    c, records, _ = grid_sweep
    assert [r.number for r in records] == [0, 1, 2, 3]
    assert sorted(r.state for r in records) == ["complete", "failed", "infeasible", "infeasible"]
    assert len(c.study.trials) == 4 and all(t.state.is_finished() for t in c.study.trials)


def test_an_infeasible_point_gets_its_sentence_and_no_run(grid_sweep):
    c, records, events = grid_sweep
    for r in (r for r in records if r.state == "infeasible"):
        assert r.params["fc3.out_features"] == 2
        assert "fc3" in r.message and "3 classes" in r.message, r.message
        assert r.run_dir == "" and not c.trial_dir(r.number).exists()
    started = {e.number for e in events if isinstance(e, TrialStarted)}
    assert started == {r.number for r in records if r.state != "infeasible"}


def test_a_diverging_trial_fails_with_the_runs_message(grid_sweep):
    c, records, events = grid_sweep
    failed = next(r for r in records if r.state == "failed")
    assert failed.params == {"training.lr": 100, "fc3.out_features": 3}
    assert "NaN or infinite" in failed.message
    assert sweep_file(failed.run_dir)["state"] == "failed"
    assert "NaN" in sweep_file(failed.run_dir)["message"]
    done = next(r for r in records if r.state == "complete")
    assert done.values["val_accuracy"] > 0.3 and done.epochs == 3
    data = sweep_file(done.run_dir)
    assert (data["study"], data["trial"], data["state"]) == ("s", done.number, "complete")
    assert data["params"] == done.params
    assert data["lane"] == done.lane == "local 1"
    ended = [e.record.number for e in events if isinstance(e, TrialEnded)]
    assert sorted(ended) == [0, 1, 2, 3]
    assert (c.trial_dir(done.number) / SWEEP_FILE).is_file()
    assert len(starts(done.run_dir)) == 1


def test_a_sequential_sweep_with_the_same_seed_samples_the_same_points(tmp_path):
    params = ["training.lr=float:1e-3..1e-1:log", "fc1.out_features=int:8..64:8",
              "training.optimizer=choice:adam,sgd"]
    project = spirals(samples=100, epochs=1)
    first = coordinator(project, tmp_path / "a", params, 2, seed=7).run()
    again = coordinator(project, tmp_path / "b", params, 2, seed=7).run()
    assert [r.params for r in first] == [r.params for r in again]
    assert first[0].params != first[1].params
    assert all(r.state == "complete" for r in first + again)
