"""The "Privacy spent (ε)" plot: Privacy events draw the epsilon spent with the target as
a line, only for private runs; a finished private run chosen in Runs shows it again from
its events.jsonl, and its evaluation says what it spent."""

from __future__ import annotations

import json

import pytest

from app.panels.plots import PlotsPanel
from app.runs.history import load_history
from app.runs.privacy import run_privacy
from engine.train.events import EpochEnded, Privacy, Progress, RunStarted, read_events
from tests.app.trained_runs import train_run

PRIVATE = {"privacy": {"enabled": True, "epsilon": 3.0, "delta": None, "max_grad_norm": 1.0}}


@pytest.fixture
def panel(qtbot):
    p = PlotsPanel()
    p.resize(900, 700)
    qtbot.addWidget(p, before_close_func=PlotsPanel.dispose)
    return p


def _private_events():
    yield RunStarted(config=PRIVATE, total_steps=30, steps_per_epoch=10)
    for epoch in (1, 2, 3):
        yield Progress(epoch=epoch, step=10 * epoch, losses=[1.0 / epoch], lr=0.01)
        yield EpochEnded(epoch=epoch, train={"loss": 1.0 / epoch}, val={"loss": 1.1 / epoch})
        yield Privacy(epoch=epoch, step=10 * epoch, epsilon=0.9 * epoch, delta=5e-4,
                      target=3.0, noise=1.1, max_grad_norm=1.0)


def test_privacy_events_draw_the_epsilon_spent_under_the_target_line(panel):
    events = _private_events()
    panel.on_event(next(events))  # a private run starts: the plot is there, target drawn
    assert panel.privacy.shown
    assert panel.privacy.target_values() == [3.0]
    assert panel.privacy.series() == ([], [])
    for ev in events:
        panel.on_event(ev)
    assert panel.privacy.series() == ([10.0, 20.0, 30.0], pytest.approx([0.9, 1.8, 2.7]))
    lo, hi = panel.privacy.plot.getViewBox().viewRange()[1]
    assert lo == 0.0 and hi > 3.0  # the target is inside the plot
    assert panel.privacy.plot.getViewBox().viewRange()[0] == \
        panel.loss_plot.getViewBox().viewRange()[0]  # one step axis


def test_a_run_without_privacy_shows_no_privacy_plot(panel):
    panel.on_event(RunStarted(config={"privacy": {"enabled": False}}, total_steps=10))
    panel.on_event(Progress(epoch=1, step=10, losses=[1.0], lr=0.01))
    assert not panel.privacy.shown
    for ev in _private_events():
        panel.on_event(ev)
    assert panel.privacy.shown
    panel.on_event(RunStarted(total_steps=10))  # the next run is not private
    assert not panel.privacy.shown and panel.privacy.series() == ([], [])
    assert panel.lr_plot.getAxis("bottom").isVisible()  # the step axis is back under lr


@pytest.fixture(scope="module")
def private_run(tmp_path_factory):
    """The mlp template on 300 spirals, 2 epochs, trained with DP-SGD (target epsilon 3)."""
    from engine.templates import load_template

    p = load_template("mlp")
    p.dataset = p.dataset.model_copy(update={"samples": 300})
    p.training = p.training.model_copy(update={"epochs": 2, "threads": 1, "stats_every": 0})
    p.training.privacy = p.training.privacy.model_copy(update={"enabled": True,
                                                               "epsilon": 3.0})
    return train_run(p, tmp_path_factory.mktemp("private") / "run")


def test_a_finished_private_run_restores_its_plot(panel, private_run):
    sent = [ev for ev in read_events(private_run / "events.jsonl") if isinstance(ev, Privacy)]
    assert len(sent) == 2  # one per epoch
    panel.set_overlays({"run": load_history(private_run)})
    assert panel.privacy.shown
    assert panel.privacy.target_values() == [3.0]
    (curve,) = panel.privacy._overlay_items
    x, y = curve.getData()
    assert list(y) == pytest.approx([ev.epsilon for ev in sent])
    assert list(x) == [ev.step for ev in sent]
    panel.set_overlays({})
    assert not panel.privacy.shown


def test_the_evaluation_says_what_a_private_run_spent(qtbot, private_run):
    from app.panels.evaluation import EvaluationPanel

    spent = json.loads((private_run / "privacy.json").read_text())
    assert 0 < spent["epsilon"] <= 3.0 * 1.05  # the accountant stays near the target
    text = run_privacy(private_run)
    assert text == f"ε = {spent['epsilon']:.2f} at δ = {spent['delta']:.3g} (target 3)"
    ev = EvaluationPanel()
    qtbot.addWidget(ev, before_close_func=EvaluationPanel.shutdown)
    ev.show_run(str(private_run))
    assert f"Privacy: {text}" in ev.final.text()
