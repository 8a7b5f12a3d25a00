"""The median pruner stops trials that fall behind through the run's own stop control;
their run folders say "pruned". Its decisions, made without reading the running trial back
from the database, are Optuna's own."""

from __future__ import annotations

import random

import optuna

from engine.sweep.study import PruneCheck, make_pruner, pruning_warmup
from engine.train.events import read_events

from .sweep_helpers import coordinator, spirals, sweep_file

EPOCHS = 12


def test_trials_behind_the_median_stop_early_and_say_pruned(tmp_path):
    runs = tmp_path / "runs"
    c = coordinator(spirals(samples=2000, epochs=EPOCHS), runs,
                    ["training.lr=float:1e-6..1e-1:log"], 4, pruner="median")
    study = c.open()
    # two learning rates that learn, then two that barely move: known order, known outcome
    for lr in (0.02, 0.03, 1e-6, 2e-6):
        study.enqueue_trial({"training.lr": lr})
    records = c.run()
    assert [r.state for r in records] == ["complete", "complete", "pruned", "pruned"]
    for r in records[2:]:
        assert r.message.startswith("pruned at epoch")
        data = sweep_file(r.run_dir)
        assert data["state"] == "pruned" and data["trial"] == r.number
        events = read_events(f"{r.run_dir}/events.jsonl")
        kinds = [e.type for e in events]
        assert "stopped" in kinds and "finished" not in kinds  # the ordinary stop control
        epochs = [e.epoch for e in events if e.type == "epoch_ended"]
        assert pruning_warmup(EPOCHS) <= max(epochs) < EPOCHS
        assert r.epochs == max(epochs)
        assert (runs / "sweeps" / "s" / f"trial-{r.number:04d}" / "checkpoints"
                / "last.safetensors").is_file()
    for r in records[:2]:
        assert r.epochs == EPOCHS and sweep_file(r.run_dir)["state"] == "complete"


def test_the_pruning_check_decides_as_optunas_should_prune():
    rng = random.Random(3)
    decisions = []
    for direction in ("maximize", "minimize"):
        study = optuna.create_study(direction=direction,
                                    pruner=make_pruner("median", 1, 24, 20))
        for _ in range(12):
            trial = study.ask()
            check = PruneCheck(study, trial, {})
            level, pruned = rng.random(), False
            for epoch in range(1, 21):
                value = level + epoch * rng.uniform(0, 0.05)
                ours = check.report(value, epoch)
                decisions.append(ours)
                assert ours == trial.should_prune(), (direction, trial.number, epoch)
                if ours:
                    pruned = True
                    break
            if pruned:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, value)
    assert any(decisions) and not all(decisions)  # both kinds of decision were checked


def test_the_warm_up_is_a_share_of_the_run():
    assert [pruning_warmup(e) for e in (1, 4, 20, 30, 100)] == [1, 1, 1, 2, 5]
