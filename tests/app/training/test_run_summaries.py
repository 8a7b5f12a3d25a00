"""The Runs list's rows are re-read only when a run's files change."""

from __future__ import annotations

from app.runs import history
from engine.train.events import EpochEnded, Finished, RunStarted


def test_a_summary_is_read_again_only_when_the_run_changed(tmp_path, monkeypatch):
    run = tmp_path / "run1"
    run.mkdir()
    events = run / "events.jsonl"
    events.write_text(RunStarted(total_steps=4).to_json() + "\n"
                      + EpochEnded(epoch=1, val={"loss": 0.5}).to_json() + "\n")
    reads: list[str] = []
    real = history.read_events
    monkeypatch.setattr(history, "read_events", lambda p: reads.append(str(p)) or real(p))
    first = history.summarize(run)
    assert first.status == "interrupted" and len(reads) == 1
    first.status = "changed by the caller"  # a copy: the remembered row is not touched
    assert history.summarize(run).status == "interrupted" and len(reads) == 1
    with events.open("a") as f:
        f.write(Finished(epochs=1).to_json() + "\n")
    assert history.summarize(run).status == "finished" and len(reads) == 2
