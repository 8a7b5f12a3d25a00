"""The run loop in process: progress batching, stop, NaN stop, exact stop/resume."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file

from engine.train import Control, train
from engine.train.events import EpochEnded, Failed, Finished, Progress, RunStarted, Stopped
from tests.engine.train.helpers import tiny_mlp


def test_progress_events_carry_every_step_loss(tmp_path) -> None:
    events = list(train(tiny_mlp(), tmp_path / "run"))
    started = next(e for e in events if isinstance(e, RunStarted))
    progress = [e for e in events if isinstance(e, Progress)]
    assert sum(len(p.losses) for p in progress) == started.total_steps
    assert [p.step for p in progress] == sorted(p.step for p in progress)
    assert progress[-1].step == started.total_steps
    assert isinstance(events[-1], Finished)


def test_stop_takes_effect_within_one_step(tmp_path) -> None:
    control = Control()
    gen = train(tiny_mlp(), tmp_path / "run", control=control, progress_interval=0.0)
    seen = None
    for ev in gen:
        if isinstance(ev, Progress) and ev.step == 5:
            seen = ev
            control.stop()
        if isinstance(ev, Stopped):
            break
    assert seen is not None and isinstance(ev, Stopped)
    assert ev.step == seen.step


def test_stopped_run_resumes_to_the_same_weights_as_an_uninterrupted_one(tmp_path) -> None:
    project = tiny_mlp(training__epochs=2, training__optimizer="sgd", training__schedule="onecycle")
    a, b = _uninterrupted_and_resumed(project, tmp_path, 13)  # mid epoch 2 (8 per epoch)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _uninterrupted_and_resumed(project, tmp_path, stop_step: int):
    """The final weights of ``project`` trained in one go, and stopped after step
    ``stop_step`` and then resumed."""
    list(train(project, tmp_path / "a"))
    control = Control()
    for ev in train(project, tmp_path / "b", control=control, progress_interval=0.0):
        if isinstance(ev, Progress) and ev.step == stop_step:
            control.stop()
    assert isinstance(ev, Stopped)
    last = list(train(project, tmp_path / "b", resume=True))[-1]
    assert isinstance(last, Finished)
    return load_file(tmp_path / "a/weights.safetensors"), load_file(tmp_path / "b/weights.safetensors")


def test_a_stop_asked_at_an_epoch_end_resumes_to_the_same_weights(tmp_path) -> None:
    # asked while the epoch's end is reported (validation, checkpoint): the loop sees it at
    # the next epoch's first batch, after that epoch's shuffle was drawn. A Slurm requeue
    # under load landed there, and the resumed run shuffled again from the drawn state.
    project = tiny_mlp(training__epochs=3)
    list(train(project, tmp_path / "a"))
    control = Control()
    for ev in train(project, tmp_path / "b", control=control):
        if isinstance(ev, EpochEnded) and ev.epoch == 1:
            control.stop()
    assert isinstance(ev, Stopped) and ev.step == 8  # at the start of epoch 2 (8 per epoch)
    last = list(train(project, tmp_path / "b", resume=True))[-1]
    assert isinstance(last, Finished)
    a, b = load_file(tmp_path / "a/weights.safetensors"), load_file(tmp_path / "b/weights.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_nan_loss_stops_before_the_update_and_keeps_the_last_good_checkpoint(tmp_path) -> None:
    run = tmp_path / "run"
    good = tiny_mlp(training__epochs=1, training__schedule="none")
    list(train(good, run))
    ckpt = (run / "checkpoints/last.safetensors").read_bytes()
    absurd = good.model_copy(deep=True)
    absurd.training.lr, absurd.training.optimizer, absurd.training.epochs = 100.0, "sgd", 4
    events = list(train(absurd, run, resume=True))
    assert isinstance(events[-1], Failed) and "NaN" in events[-1].message
    assert any(e.type == "warning" and e.kind == "nan" for e in events)
    assert (run / "checkpoints/last.safetensors").read_bytes() == ckpt
    weights = load_file(run / "weights.safetensors")
    assert all(torch.isfinite(t).all() for t in weights.values())


def test_a_data_mismatch_fails_with_a_sentence_naming_the_node(tmp_path) -> None:
    project = tiny_mlp()
    project.graphs["model"].node("fc3").params = {"out_features": 2}
    last = list(train(project, tmp_path / "run"))[-1]
    assert isinstance(last, Failed)
    assert last.message.startswith("model/fc3: gives 2 outputs but builtin:spirals has 3 classes")


def test_epoch_metrics_are_finite_and_accuracy_is_reported(tmp_path) -> None:
    events = list(train(tiny_mlp(), tmp_path / "run"))
    ended = [e for e in events if e.type == "epoch_ended"]
    assert len(ended) == 2
    assert all(math.isfinite(e.val["loss"]) and 0 <= e.val["accuracy"] <= 1 for e in ended)
    assert (tmp_path / "run/metrics.csv").read_text().count("\n") == 3


def test_progress_is_throttled_to_about_twenty_events_a_second(tmp_path) -> None:
    import time

    t0 = time.perf_counter()
    events = list(train(tiny_mlp(training__epochs=6), tmp_path / "run"))
    elapsed = time.perf_counter() - t0
    progress = [e for e in events if isinstance(e, Progress)]
    assert len(progress) <= 6 + 20 * elapsed + 1  # one flush per epoch end, else <= 20/s
    assert max(len(p.losses) for p in progress) > 1  # several steps batched into one event


def test_early_stopping_ends_the_run_after_patience_epochs_without_improvement(tmp_path) -> None:
    project = tiny_mlp(training__epochs=20, training__lr=1e-12, training__early_stopping=True,
                       training__monitor="val_accuracy", training__patience=2)
    last = list(train(project, tmp_path / "run"))[-1]
    assert isinstance(last, Finished) and last.early_stopped
    assert last.epochs == 3 and last.best_epoch == 1


def _with_batch_norm(**overrides):
    """The tiny mlp with a BatchNorm1d after its first Linear."""
    from engine.project import Edge, Node

    project = tiny_mlp(**overrides)
    graph = project.graphs["model"]
    first = graph.nodes[1].id  # the first Linear
    after = next(e for e in graph.edges if e.src == first)
    graph.nodes.append(Node(id="bn", type="BatchNorm1d", params={}, position=(0.0, 0.0)))
    graph.edges.remove(after)
    graph.edges += [Edge(src=first, dst="bn"), Edge(src="bn", dst=after.dst)]
    return project


def test_batch_norm_trains_when_the_last_batch_would_hold_one_sample(tmp_path) -> None:
    """600 points, 20% validation: 480 train; batch 479 leaves one sample, which a
    BatchNorm cannot train on (PyTorch raises): that epoch drops it."""
    project = _with_batch_norm(training__batch_size=479)
    events = list(train(project, tmp_path / "run"))
    started = next(e for e in events if isinstance(e, RunStarted))
    assert started.steps_per_epoch == 1
    assert isinstance(events[-1], Finished), events[-1]


def test_a_batch_size_of_one_with_batch_norm_is_a_problem_on_the_block() -> None:
    from engine.shapes import project_problems

    problems = [p for p in project_problems(_with_batch_norm(training__batch_size=1))
                if p.severity == "error"]
    assert [(p.node, "batch size to 2" in p.message) for p in problems] == [("bn", True)]
    assert not [p for p in project_problems(_with_batch_norm(training__batch_size=2))
                if p.severity == "error"]


def test_a_convolutional_run_with_adam_resumes_to_the_same_weights(tmp_path) -> None:
    # Convolutions train in channels_last and Adam runs its fused kernel, which reads a
    # weight and its moments as flat arrays: the moments read back from the checkpoint
    # must take the weight's layout again, or every update after the resume is wrong.
    from tests.engine.explain_project import shapes_cnn

    project = shapes_cnn(samples=320, epochs=2)
    project.training.batch_size = 32
    assert project.training.optimizer == "adam"
    a, b = _uninterrupted_and_resumed(project, tmp_path, 11)  # mid epoch 2 (8 per epoch)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_optimizer_state_read_back_takes_its_parameters_layout() -> None:
    from engine.train.optim import match_layout

    conv = torch.nn.Conv2d(3, 4, 3).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(conv.parameters(), fused=True)
    conv(torch.randn(2, 3, 6, 6)).sum().backward()
    opt.step()
    saved = opt.state_dict()
    for state in saved["state"].values():  # as a checkpoint holds them: contiguous
        for key, value in state.items():
            state[key] = value.contiguous() if torch.is_tensor(value) else value
    opt.load_state_dict(saved)
    assert opt.state[conv.weight]["exp_avg"].stride() != conv.weight.stride()
    match_layout(opt)
    for param, state in opt.state.items():
        assert state["exp_avg"].stride() == state["exp_avg_sq"].stride() == param.stride()
        assert torch.equal(state["exp_avg"], saved["state"][0 if param.dim() == 4 else 1]
                           ["exp_avg"])


@pytest.mark.parametrize("recorded_its_end", [True, False])
def test_a_run_killed_at_an_epoch_end_resumes_with_each_epoch_once(tmp_path, recorded_its_end):
    # The checkpoint is written before the epoch's events are recorded. Killed after they
    # were, the run resumes after the epoch and never trains it twice; killed between the
    # two, events.jsonl lacks the epoch's end and the resume says it from the checkpoint.
    from engine.train.events import read_events
    from engine.train.rundir import RunDir, record

    project = tiny_mlp(training__epochs=3)
    run = RunDir(tmp_path / "run")
    events = record(train(project, run.path), run)
    for ev in events:
        if isinstance(ev, EpochEnded) and ev.epoch == 2:
            if not recorded_its_end:
                lines = run.events.read_text().splitlines(keepends=True)
                run.events.write_text("".join(lines[:-1]))
            events.close()  # killed: nothing more is recorded
            break
    assert list(record(train(project, run.path, resume=True), run))[-1].type == "finished"
    recorded = read_events(run.events)
    assert [e.epoch for e in recorded if isinstance(e, EpochEnded)] == [1, 2, 3]
    assert [e.seq for e in recorded] == list(range(1, len(recorded) + 1))
