"""RunHistory, the one reduction of training events into curves: a run folder reads back
exactly what the live run drew, NaN losses and resumes included."""

from __future__ import annotations

import math

import numpy as np

from app.runs.history import SERIES, RunHistory, load_history
from app.runs.series import Ema, GrowingBuffer, ema
from engine.train.events import (
    CheckpointWritten,
    EpochEnded,
    Finished,
    Notice,
    Paused,
    Progress,
    Resumed,
    RunStarted,
    Sample,
    Status,
    Stopped,
    Warning,
)

NAN = math.nan


def _run():
    """A run stopped at step 4 and resumed from its checkpoint at step 3, with a NaN step
    loss, a NaN validation figure, and events that draw nothing."""
    yield RunStarted(total_steps=8, steps_per_epoch=4)
    yield Progress(epoch=1, step=2, losses=[2.0, NAN], lr=0.1)
    yield Paused(epoch=1, step=2)
    yield Resumed(epoch=1, step=2)
    yield Progress(epoch=1, step=4, losses=[1.5, 1.25], lr=0.1)
    yield CheckpointWritten(epoch=1, step=4)
    yield EpochEnded(epoch=1, train={"loss": 1.6}, val={"loss": NAN, "accuracy": 0.25})
    yield Stopped(epoch=2, step=4)
    yield RunStarted(total_steps=8, steps_per_epoch=4, resumed_from=3)
    yield Progress(epoch=1, step=4, losses=[1.4], lr=0.1)
    yield Warning(kind="nan", message="a step loss was not finite")
    yield Progress(epoch=2, step=8, losses=[1.0, 0.9, 0.8, 0.7], lr=0.05)
    yield Sample(epoch=2, text="abc")
    yield EpochEnded(epoch=2, train={"loss": 0.9}, val={"loss": 0.75, "accuracy": 0.5})
    yield Finished(epochs=2)


def _same(a: RunHistory, b: RunHistory) -> None:
    assert a.metric == b.metric
    for key in SERIES:
        (ax, ay), (bx, by) = a.series(key), b.series(key)
        assert np.array_equal(ax, bx) and np.array_equal(ay, by, equal_nan=True), key


def test_a_run_folder_reads_back_exactly_what_the_live_run_drew(tmp_path):
    live = RunHistory()
    for ev in _run():
        live.add(ev)
        live.add(Status(state="running"))  # session events never reach the folder
        live.add(Notice(message="a worker restarted"))
    (tmp_path / "events.jsonl").write_text(
        "".join(ev.to_json() + "\n" for ev in _run()) + '{"type": "progress", "ste')  # torn
    _same(load_history(tmp_path), live)
    assert np.isnan(live.series("loss")[1][1])
    assert live.metric == "accuracy"


def test_a_resumed_run_continues_the_curves_and_their_average():
    h = RunHistory.from_events(_run())
    steps, losses = h.series("loss")
    assert list(steps) == [1, 2, 3, 4, 4, 5, 6, 7, 8]
    assert np.array_equal(h.series("loss_ema")[1], ema(losses))
    assert list(h.series("lr")[0]) == [2, 4, 4, 8]
    # a NaN validation loss draws nothing, live or read back (JSON has no NaN)
    assert list(h.series("val_loss")[0]) == [8] and list(h.series("val_loss")[1]) == [0.75]
    assert list(h.series("metric")[0]) == [4, 8]


def test_a_fresh_run_starts_the_curves_over():
    h = RunHistory.from_events(_run())
    assert h.add(RunStarted(total_steps=4)) == frozenset(SERIES)
    assert all(h.buffers[key].n == 0 for key in SERIES) and h.metric is None
    h.add(Progress(epoch=1, step=1, losses=[3.0], lr=0.1))
    assert list(h.series("loss_ema")[1]) == [3.0]  # the average starts over too


def test_add_says_which_series_changed():
    h = RunHistory()
    assert h.add(RunStarted(total_steps=4, resumed_from=2)) == frozenset()
    assert h.add(Progress(epoch=1, step=1, losses=[1.0], lr=0.1)) == {"loss", "loss_ema", "lr"}
    assert h.add(Progress(epoch=1, step=1, losses=[], lr=0.1)) == frozenset()
    assert h.add(EpochEnded(epoch=1, val={"loss": 0.5})) == {"val_loss"}
    assert h.add(EpochEnded(epoch=2, val={"rmse": 0.5})) == {"metric"}
    assert h.add(Paused(epoch=2, step=1)) == frozenset()


def test_an_epoch_without_steps_is_drawn_at_its_number():
    h = RunHistory.from_events([EpochEnded(epoch=3, train={"loss": 0.5, "accuracy": 0.9})])
    assert list(h.series("val_loss")[0]) == [3] and list(h.series("metric")[1]) == [0.9]


def test_the_average_does_not_depend_on_how_the_losses_arrive():
    values = np.array([3.0, 1.0, NAN, 2.0, math.inf, 0.5, 0.25])
    chunked = Ema()
    parts = [chunked.extend(values[a:b]) for a, b in ((0, 1), (1, 4), (4, 4), (4, 7))]
    assert np.array_equal(np.concatenate(parts), ema(values))


def test_ema_skips_non_finite_values():
    assert np.allclose(ema(np.array([1.0, np.nan, 1.0])), [1.0, 1.0, 1.0])
    assert np.isnan(ema(np.array([np.nan, 1.0]))[0])


def test_growing_buffer_keeps_every_point_across_growth():
    b = GrowingBuffer(capacity=4)
    for i in range(100):
        b.extend([i, i + 0.5], [2 * i, 2 * i + 1])
    assert b.n == 200
    assert np.array_equal(b.x[::2], np.arange(100))
    assert np.array_equal(b.y[1::2], 2 * np.arange(100) + 1)
