"""Block health follows a live run: a real worker process trains the mlp template with
statistics on, and its BlockStats events reach the badges and the Health panel as they
arrive, the same numbers the run folder records."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.project import load_project

MLP = Path(__file__).resolve().parents[2] / "resources" / "examples" / "mlp.lforge"


def test_a_live_run_fills_the_badges_and_the_panel_as_it_trains(ws, qtbot, tmp_path):
    from engine.train.events import BlockStats
    from engine.train.stats import read_block_stats

    path = tmp_path / "mlp.lforge"
    shutil.copy(MLP, path)
    doc = ws.document
    doc.replace_project(load_project(path), path=str(path))
    doc.set_field("dataset", "samples", 300)
    doc.set_field("training", "epochs", 2)
    doc.set_field("training", "stats_every", 2)
    ui = ws.training
    ui.start_warm_worker()
    assert ui.warm.wait_ready(90), "the warm worker did not start"
    feature = ws.setup.health
    seen: list[int] = []  # badges on the canvas when each BlockStats event had arrived

    def on_event(ev) -> None:
        if isinstance(ev, BlockStats):
            seen.append(ev.step)

    ui.runner.event_received.connect(on_event)
    ended: list[object] = []
    ui.runner.run_ended.connect(ended.append)
    try:
        assert ui.train()
        qtbot.waitUntil(lambda: len(seen) >= 2, timeout=60000)
        qtbot.waitUntil(lambda: bool(feature.badges.badges()), timeout=5000)  # while it trains
        qtbot.waitUntil(lambda: bool(ended), timeout=60000)
    finally:
        ui.runner.event_received.disconnect(on_event)
        ui.shutdown()
    run = Path(feature.shown_dir or "")
    recorded = read_block_stats(run)
    assert recorded and seen == [s.step for s in recorded]
    keys = set(recorded[-1].blocks)
    assert set(feature.badges.badges()) == keys
    assert feature.history is not None
    assert feature.history.blocks["model/fc1"].steps == seen
    assert feature.history.latest("model/fc1") == recorded[-1].blocks["model/fc1"]
    assert "training" not in feature.panel.status.text()  # the run is over
