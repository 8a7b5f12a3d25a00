"""Run folders for app tests, written as a finished run leaves them (no training needed)."""

from __future__ import annotations

from pathlib import Path

from engine.project import Project, save_project
from engine.train.events import EpochEnded, Event, Finished, RunStarted


def write_run(folder: Path, project: Project, events: list[Event] | None = None) -> Path:
    """A run folder with the project snapshot and events.jsonl (a finished one-epoch run
    unless ``events`` are given)."""
    folder.mkdir(parents=True, exist_ok=True)
    snapshot = project.model_copy(update={"runs": []})
    save_project(snapshot, folder / "project.lforge")
    events = events if events is not None else [
        RunStarted(run_dir=str(folder), task=project.task.kind, total_steps=4),
        EpochEnded(epoch=1, train={"loss": 1.0}, val={"loss": 0.9, "accuracy": 0.5},
                   seconds=1.0),
        Finished(epochs=1, seconds=1.0)]
    lines = [ev.to_json() for ev in events]
    (folder / "events.jsonl").write_text("".join(f"{line}\n" for line in lines),
                                         encoding="utf-8")
    return folder
