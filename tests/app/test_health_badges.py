"""Health badges on the canvas: a run's block statistics give each measured block a green,
amber or red badge whose tooltip has the numbers and a sparkline; nothing stays from
another run or another project."""

from __future__ import annotations

import pytest

from app.canvas.health_stats import HealthHistory, grade
from app.runs.records import add_run_ref
from engine.train.events import BlockStats, RunStarted
from tests.app.conftest import chain_project
from tests.app.health_runs import chain_stats, recorded_run

CHAIN = {"model/fc1", "model/act", "model/fc2"}


def show_in_runs(ws, run_dir) -> None:
    """Choose a run in the Runs list, as a user does."""
    run_dir = run_dir.resolve()
    add_run_ref(ws.document, run_dir)
    ws.training.refresh_runs()
    ws.training.runs.select_runs([str(run_dir)])


def levels(ws) -> dict[str, str]:
    return {k: b.level for k, b in ws.setup.health.badges.badges().items()}


@pytest.mark.parametrize(("values", "level"), [
    ({"dead": 0.1, "update_ratio": 1e-3, "grad_out": 0.05}, "ok"),
    ({"dead": 0.6}, "warn"),
    ({"dead": 0.95}, "bad"),
    ({"update_ratio": 0.05}, "warn"),
    ({"update_ratio": 0.3}, "bad"),
    ({"update_ratio": 1e-6}, "warn"),
    ({"grad_out": 1e3}, "warn"),
    ({"grad_params": 1e-10}, "bad"),
    ({"act_mean": None, "act_std": None, "grad_out": 0.1}, "bad"),  # NaN recorded as null
    ({"act_mean": 0.1, "act_std": float("nan")}, "bad"),
    ({"dead": None, "update_ratio": None, "grad_params": None}, "ok"),  # does not apply
])
def test_grade_follows_the_documented_rule(values, level):
    assert grade(values).level == level


def test_a_resumed_history_drops_the_steps_after_its_checkpoint():
    h = HealthHistory()
    for step in (1, 50, 100, 150):
        h.add_stats(step, chain_stats(step))
    h.add_stats(100, chain_stats(100, sick=True))  # resumed from step 100
    assert h.blocks["model/act"].steps == [1, 50, 100]
    assert h.grade("model/act").level == "bad"


def test_a_recorded_run_gives_each_measured_block_a_badge(ws, qtbot, tmp_path):
    run = recorded_run(tmp_path / "runs" / "sick", chain_project(), [1, 50, 100], sick=True)
    show_in_runs(ws, run)
    qtbot.waitUntil(lambda: set(levels(ws)) == CHAIN, timeout=5000)
    assert levels(ws) == {"model/fc1": "ok", "model/act": "bad", "model/fc2": "bad"}
    badge = ws.setup.health.badges.badges()["model/act"]
    text = badge.describe()
    assert "95% of its units are dead" in text and "dead / saturated: 95%" in text
    assert "steps 1–100" in text
    tip = ws.setup.health.badges.tooltip("model/act")
    assert "<img src='data:image/png;base64," in tip


def test_a_run_without_statistics_shows_no_badge_and_says_how(ws, qtbot, tmp_path):
    with_stats = recorded_run(tmp_path / "runs" / "a", chain_project(), [1, 50])
    without = recorded_run(tmp_path / "runs" / "b", chain_project(), [1, 50], stats=False)
    show_in_runs(ws, with_stats)
    qtbot.waitUntil(lambda: set(levels(ws)) == CHAIN, timeout=5000)
    show_in_runs(ws, without)
    panel = ws.setup.health.panel
    qtbot.waitUntil(lambda: "training.stats_every" in panel.status.text(), timeout=5000)
    assert levels(ws) == {}
    assert panel.table.stats.keys == []


def test_another_project_leaves_no_badge_even_while_its_run_goes_on(ws, qtbot, tmp_path):
    runner = ws.training.runner
    run = tmp_path / "runs" / "live"
    runner.event_received.emit(RunStarted(run_dir=str(run), config={"stats_every": 50}))
    runner.event_received.emit(BlockStats(epoch=1, step=1, blocks=chain_stats(1)))
    qtbot.waitUntil(lambda: set(levels(ws)) == CHAIN, timeout=5000)
    ws.document.replace_project(chain_project())  # the same block ids, another project
    assert levels(ws) == {}
    runner.event_received.emit(BlockStats(epoch=1, step=50, blocks=chain_stats(50)))
    qtbot.wait(100)
    assert levels(ws) == {}
    assert ws.setup.health.panel.table.stats.keys == []


def test_live_statistics_update_the_badges_and_the_panel(ws, qtbot, tmp_path):
    runner = ws.training.runner
    runner.event_received.emit(RunStarted(run_dir=str(tmp_path / "live"),
                                          config={"stats_every": 50}))
    runner.event_received.emit(BlockStats(epoch=1, step=1, blocks=chain_stats(1)))
    qtbot.waitUntil(lambda: levels(ws).get("model/act") == "ok", timeout=5000)
    runner.event_received.emit(BlockStats(epoch=1, step=50, blocks=chain_stats(50, sick=True)))
    qtbot.waitUntil(lambda: levels(ws).get("model/act") == "bad", timeout=5000)
    panel = ws.setup.health.panel
    ws.perspectives.switch("train")
    ws.setup.health.dock.raise_()
    qtbot.waitUntil(lambda: "step 50, 3 blocks" in panel.status.text(), timeout=5000)
    assert panel.history is not None and panel.history.blocks["model/act"].steps == [1, 50]


def test_a_badge_follows_a_renamed_block_away(ws, qtbot, tmp_path):
    run = recorded_run(tmp_path / "runs" / "r", chain_project(), [1, 50])
    show_in_runs(ws, run)
    qtbot.waitUntil(lambda: set(levels(ws)) == CHAIN, timeout=5000)
    ws.document.rename_node("model", "fc2", "head")  # the run knows no block "head"
    qtbot.waitUntil(lambda: set(levels(ws)) == CHAIN - {"model/fc2"}, timeout=5000)


@pytest.fixture(scope="module")
def trained_mlp(tmp_path_factory):
    """The mlp template trained for two short epochs with statistics every 5 steps."""
    from engine.templates import load_template
    from tests.app.trained_runs import train_run

    p = load_template("mlp")
    p.dataset = p.dataset.model_copy(update={"samples": 600})
    p.training = p.training.model_copy(update={"epochs": 2, "threads": 1, "stats_every": 5})
    run = train_run(p, tmp_path_factory.mktemp("health") / "runs" / "mlp-stats")
    return p, run


def test_a_trained_run_shows_every_block_it_measured(ws, qtbot, trained_mlp):
    from engine.train.stats import read_block_stats

    project, run = trained_mlp
    measured = read_block_stats(run)
    assert len(measured) >= 2
    ws.document.replace_project(project.model_copy(deep=True))
    show_in_runs(ws, run)
    keys = set(measured[-1].blocks)
    qtbot.waitUntil(lambda: set(levels(ws)) == keys, timeout=5000)
    feature = ws.setup.health
    assert set(feature.panel.table.stats.keys) == keys
    series = feature.history.blocks[next(iter(keys))]
    assert series.steps == [s.step for s in measured]
    # the real doctor read the folder: its findings, or that it found nothing
    qtbot.waitUntil(lambda: bool(feature.panel.findings.rows)
                    or feature.panel.findings.placeholder.text() != "", timeout=10000)
