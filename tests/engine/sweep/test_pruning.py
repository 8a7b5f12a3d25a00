"""The median pruner stops trials that fall behind through the run's own stop control;
their run folders say "pruned"."""

from __future__ import annotations

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
        assert 2 <= max(epochs) < EPOCHS
        assert r.epochs == max(epochs)
        assert (runs / "sweeps" / "s" / f"trial-{r.number:04d}" / "checkpoints"
                / "last.safetensors").is_file()
    for r in records[:2]:
        assert r.epochs == EPOCHS and sweep_file(r.run_dir)["state"] == "complete"
