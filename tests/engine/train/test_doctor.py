"""The training doctor on synthetic block statistics: which finding, pinned to which block,
with which fix, for each kind of trouble; and nothing on a healthy run."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from engine.sweep.space import apply_point, resolve_key
from engine.train.doctor import Finding, diagnose
from engine.train.events import Warning
from tests.engine.train.doctor_projects import (
    block_stats,
    chain,
    deep,
    epoch_ended,
    mlp,
    simulate,
)


def kinds(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.kind, f.block) for f in findings]


def test_a_healthy_run_has_no_findings() -> None:
    project = mlp()
    stats = [simulate(project, s) for s in (1, 50, 100)]
    epochs = [epoch_ended(e, 1.0 - 0.1 * e, 1.05 - 0.1 * e) for e in (1, 2, 3, 4)]
    assert diagnose(project, stats, epochs) == []


def test_a_block_that_blows_the_scale_up_is_named_with_its_gains_and_a_norm_fix() -> None:
    project = mlp()
    stats = [simulate(project, s, gains={"fc2": (6000.0, 5800.0)}) for s in (1, 50)]
    first = diagnose(project, stats, [])[0]
    assert (first.kind, first.block, first.severity, first.step) == (
        "exploding", "model/fc2", "error", 1)
    assert "'fc2'" in first.message and "5,800x" in first.message and "6,000x" in first.message
    assert first.fix is not None
    assert (first.fix.kind, first.fix.key, first.fix.value) == (
        "insert_after", "model/fc2", "BatchNorm1d")


def test_the_blocks_before_a_jump_are_not_blamed_for_it() -> None:
    # fc1 and relu1 receive gradients 5,800x too large, but fc2 made them so
    project = mlp()
    found = diagnose(project, [simulate(project, gains={"fc2": (6000.0, 5800.0)})], [])
    assert [f.block for f in found if f.kind in ("exploding", "vanishing")] == ["model/fc2"]


def test_a_block_that_shrinks_the_scale_is_where_gradients_vanish() -> None:
    project = mlp()
    (finding,) = diagnose(project, [simulate(project, gains={"fc2": (2e-4, 3e-4)})], [])
    assert (finding.kind, finding.block, finding.severity) == ("vanishing", "model/fc2", "error")
    assert "too small" in finding.message


def test_a_jump_of_two_orders_is_a_warning_and_one_order_is_nothing() -> None:
    project = mlp()
    (finding,) = diagnose(project, [simulate(project, gains={"fc2": (300.0, 300.0)})], [])
    assert (finding.kind, finding.severity) == ("exploding", "warning")
    assert diagnose(project, [simulate(project, gains={"fc2": (30.0, 30.0)})], []) == []


def test_the_gains_must_agree_when_both_are_measured() -> None:
    # a forward jump alone, with a normal gradient, is not a gradient problem
    project = mlp()
    assert diagnose(project, [simulate(project, gains={"fc2": (5000.0, 0.6)})], []) == []


def test_the_forward_gain_alone_names_the_block_when_gradients_were_not_measured() -> None:
    project = mlp()
    stats = simulate(project, gains={"fc2": (5000.0, 0.6)})
    for values in stats.blocks.values():
        values["grad_out"] = None
    (finding,) = diagnose(project, [stats], [])
    assert (finding.kind, finding.block) == ("exploding", "model/fc2")


def test_a_first_layer_is_judged_against_the_data_it_reads() -> None:
    # Inputs are not measured: standardised data have a spread of 1
    project = mlp()
    found = diagnose(project, [simulate(project, gains={"fc1": (5000.0, 0.6)})], [])
    assert kinds(found) == [("exploding", "model/fc1")]
    # data as they come may have any spread: nothing can be said of fc1's forward gain
    project.dataset.normalize = False
    assert diagnose(project, [simulate(project, gains={"fc1": (5000.0, 0.6)})], []) == []
    # unless the input's statistics are there
    found = diagnose(project, [simulate(project, gains={"fc1": (5000.0, 0.6)},
                                        input_stats=True)], [])
    assert kinds(found) == [("exploding", "model/fc1")]


def test_a_problem_that_went_away_is_not_reported() -> None:
    project = mlp()
    stats = [simulate(project, 1, gains={"fc2": (6000.0, 5800.0)}), simulate(project, 50)]
    assert diagnose(project, stats, []) == []


def test_a_finding_is_dated_by_its_first_sighting() -> None:
    project = mlp()
    stats = [simulate(project, 1), simulate(project, 50, gains={"fc2": (6000.0, 5800.0)}),
             simulate(project, 100, gains={"fc2": (6000.0, 5800.0)})]
    assert diagnose(project, stats, [])[0].step == 50


def test_dead_relu_units_are_reported_with_their_share_and_a_norm_before_them() -> None:
    project = mlp()
    stats = [simulate(project, 1, dead={"relu1": 0.996}), simulate(project, 10, dead={"relu1": 1.0})]
    (finding,) = diagnose(project, stats, [])
    assert (finding.kind, finding.block, finding.severity, finding.step) == (
        "dead_units", "model/relu1", "error", 1)
    assert finding.message.startswith("100% of the units of block 'relu1' are dead")
    assert "'fc1'" in finding.message
    assert (finding.fix.kind, finding.fix.key, finding.fix.value) == (
        "insert_after", "model/fc1", "BatchNorm1d")


def test_some_dead_units_are_a_warning_and_a_few_are_normal() -> None:
    project = mlp()
    (finding,) = diagnose(project, [simulate(project, dead={"relu2": 0.6})], [])
    assert (finding.kind, finding.severity) == ("dead_units", "warning")
    assert finding.message.startswith("60% of the units of block 'relu2'")
    assert diagnose(project, [simulate(project, dead={"relu2": 0.2})], []) == []


def test_a_dead_relu_is_not_also_called_a_vanishing_gradient() -> None:
    project = mlp()
    stats = simulate(project, dead={"relu1": 0.99}, gains={"relu1": (0.001, 0.001)})
    assert kinds(diagnose(project, [stats], [])) == [("dead_units", "model/relu1")]


def test_a_deep_sigmoid_stack_vanishes_where_the_gradient_falls_four_orders() -> None:
    project = deep("Sigmoid", 8)
    (finding,) = diagnose(project, [simulate(project)], [])
    # backward from fc9 (1.0): act8 0.6, fc8 0.144, act7 0.086, ... each pair x0.144;
    # fc4 is the first block at or below 1e-4 of fc9's gradient
    assert (finding.kind, finding.block) == ("vanishing", "model/fc4")
    assert "'fc9'" in finding.message and "sigmoid" in finding.message
    assert (finding.fix.kind, finding.fix.key) == ("insert_after", "model/fc4")


def test_a_deep_relu_network_at_the_default_initialisation_is_not_flagged() -> None:
    project = deep("ReLU", 8)
    assert diagnose(project, [simulate(project)], []) == []


def test_a_saturated_sigmoid_output_is_reported() -> None:
    project = chain([("fc1", "Linear", {"out_features": 16}), ("relu1", "ReLU", {}),
                     ("fc2", "Linear", {"out_features": 1}), ("prob", "Sigmoid", {})])
    (finding,) = diagnose(project, [simulate(project, dead={"prob": 0.8})], [])
    assert (finding.kind, finding.block, finding.severity) == (
        "saturated_output", "model/prob", "warning")
    assert finding.message.startswith("80% of the outputs of block 'prob' are saturated")


def test_a_saturated_sigmoid_inside_the_network_stops_gradients() -> None:
    project = deep("Sigmoid", 2)
    (finding,) = diagnose(project, [simulate(project, dead={"act1": 0.95})], [])
    assert (finding.kind, finding.block, finding.severity) == ("vanishing", "model/act1", "error")
    assert "95% of its outputs are saturated" in finding.message
    assert (finding.fix.key, finding.fix.value) == ("model/fc1", "BatchNorm1d")


@pytest.mark.parametrize(("ratio", "losses", "severity"), [
    (0.2, (1.0, 0.5), "warning"),  # far too high whatever the loss does
    (0.02, (1.0, 1.0), "warning"),  # high and the loss is stuck
    (0.05, (1.0,), "info"),  # high, too early to tell: a note
])
def test_updates_far_above_a_thousandth_of_the_weights_mean_a_high_learning_rate(
        ratio, losses, severity) -> None:
    project = mlp(lr=0.01)
    stats = [simulate(project, s, ratio=ratio) for s in (1, 50, 100)]
    epochs = [epoch_ended(i + 1, loss, loss) for i, loss in enumerate(losses)]
    (finding,) = diagnose(project, stats, epochs)
    assert (finding.kind, finding.block, finding.severity, finding.step) == (
        "lr_high", "", severity, 50)
    assert finding.fix.kind == "set" and finding.fix.key == "training.lr"
    assert finding.fix.value < 0.01
    assert finding.fix.label == f"Lower the learning rate to {finding.fix.value:g}"


def test_high_updates_while_the_loss_falls_are_not_a_finding() -> None:
    # Adam at 0.01 on the spirals MLP updates 1-3% per step and trains well
    project = mlp(lr=0.01)
    stats = [simulate(project, s, ratio=0.02) for s in (50, 100)]
    assert diagnose(project, stats, [epoch_ended(1, 1.0, 1.0), epoch_ended(2, 0.5, 0.5)]) == []


def test_the_new_learning_rate_is_a_round_number_that_brings_updates_near_a_thousandth() -> None:
    project = mlp(lr=0.01)
    (finding,) = diagnose(project, [simulate(project, 50, ratio=0.2)], [])
    assert finding.fix.value == 0.0001  # 0.01 * 1e-3 / 0.2 = 5e-5, at most a hundredfold lower
    (finding,) = diagnose(project, [simulate(project, 50, ratio=0.04)], [])
    assert finding.fix.value == 0.0003  # 0.01 / 40 = 2.5e-4, nearest on a log scale


def test_adams_first_step_does_not_count_when_later_steps_were_measured() -> None:
    project = mlp()
    stats = [simulate(project, 1, ratio=0.3), simulate(project, 50, ratio=2e-3)]
    assert diagnose(project, stats, []) == []


def test_tiny_updates_mean_a_low_learning_rate() -> None:
    project = mlp(lr=1e-6)
    (finding,) = diagnose(project, [simulate(project, 50, ratio=5e-6)],
                          [epoch_ended(1, 1.1, 1.1), epoch_ended(2, 1.1, 1.1)])
    assert (finding.kind, finding.severity) == ("lr_low", "warning")
    assert finding.fix.value > 1e-6 and finding.fix.label.startswith("Raise the learning rate")


def test_frozen_blocks_do_not_count_in_the_update_ratio() -> None:
    project = mlp()
    project.graphs["model"].node("fc1").trainable = False
    project.graphs["model"].node("fc2").trainable = False
    stats = simulate(project, ratios={"fc1": 0.0, "fc2": 0.0, "fc3": 2e-3})
    assert diagnose(project, [stats], []) == []


def test_a_divergence_warning_without_statistics_means_a_high_learning_rate() -> None:
    project = mlp(lr=0.5)
    warning = Warning(kind="divergence", message="The loss jumped to 80 (it was as low as 0.4): "
                      "the learning rate (0.5) may be too high.")
    (finding,) = diagnose(project, [], [], [warning])
    assert (finding.kind, finding.message, finding.fix.value) == ("lr_high", warning.message, 0.05)


def test_overfitting_is_a_rising_validation_loss_while_the_training_loss_falls() -> None:
    project = mlp()
    epochs = [epoch_ended(e, t, v) for e, t, v in
              [(1, 1.0, 1.0), (2, 0.7, 0.8), (3, 0.5, 0.85), (4, 0.3, 0.95), (5, 0.2, 1.1)]]
    (finding,) = diagnose(project, [], epochs)
    assert (finding.kind, finding.block, finding.step) == ("overfitting", "", 0)
    assert "0.8 at epoch 2 to 1.1 at epoch 5" in finding.message
    assert (finding.fix.kind, finding.fix.key, finding.fix.value) == (
        "set", "training.weight_decay", 1e-4)
    # one epoch above the best is noise, not overfitting
    assert diagnose(project, [], epochs[:3]) == []


def test_overfitting_raises_the_dropout_where_the_model_has_one() -> None:
    project = chain([("fc1", "Linear", {"out_features": 64}), ("relu1", "ReLU", {}),
                     ("drop", "Dropout", {"p": 0.1}), ("fc2", "Linear", {"out_features": 3})])
    epochs = [epoch_ended(e, t, v) for e, t, v in [(1, 1.0, 0.8), (2, 0.5, 0.9), (3, 0.3, 1.0)]]
    (finding,) = diagnose(project, [], epochs)
    assert (finding.fix.kind, finding.fix.key, finding.fix.value) == ("set_param", "model/drop.p", 0.3)
    # the key is a sweep key: it names the field and applies to a copy of the project
    assert resolve_key(project, finding.fix.key).node == "drop"
    assert apply_point(project, {finding.fix.key: 0.3}).graphs["model"].node("drop").params["p"] == 0.3


def test_a_nan_stop_comes_first_with_its_block_and_step() -> None:
    project = mlp(lr=0.1)
    warning = Warning(kind="nan", message="The loss became NaN or infinite at epoch 3, step 120; "
                      "it first appeared in the output of block 'fc2' (model/fc2)",
                      block="model/fc2")
    stats = [simulate(project, 100, dead={"relu2": 0.7})]
    found = diagnose(project, stats, [], [warning])
    assert kinds(found) == [("nonfinite", "model/fc2"), ("dead_units", "model/relu2")]
    assert (found[0].severity, found[0].step, found[0].fix.value) == ("error", 120, 0.01)


def test_the_norm_follows_the_rank_of_the_output_and_the_batch_size() -> None:
    conv = chain([("conv", "Conv2d", {"out_channels": 8, "kernel_size": 3}), ("act", "ReLU", {}),
                  ("flat", "Flatten", {}), ("fc", "Linear", {"out_features": 3})])
    conv.graphs["model"].node("x").params["shape"] = [1, 8, 8]
    (finding,) = diagnose(conv, [simulate(conv, dead={"act": 1.0})], [])
    assert (finding.fix.key, finding.fix.value) == ("model/conv", "BatchNorm2d")
    single = mlp(batch_size=1)
    (finding,) = diagnose(single, [simulate(single, dead={"relu1": 1.0})], [])
    assert finding.fix.value == "LayerNorm"  # batch norm cannot train on one sample


def test_no_norm_is_offered_where_one_is_already() -> None:
    project = deep("ReLU", 2, norm="BatchNorm1d")
    (finding,) = diagnose(project, [simulate(project, dead={"act1": 1.0})], [])
    assert finding.fix.key == "training.lr"  # the norm is there: a lower rate instead


def test_broken_or_foreign_statistics_never_raise() -> None:
    project = mlp()
    junk = {"model/fc1": {"act_std": "x", "grad_out": float("nan")}, "model/gone": {"dead": 1.0},
            "other/fc1": {"grad_out": 1.0}, "model/relu1": None, "model/fc2": {},
            "model/relu2": {"dead": True, "update_ratio": -1.0}}
    stats = [block_stats(1, junk), block_stats(2, {}), simulate(project, 3, ratio=math.inf)]
    assert diagnose(project, stats, [epoch_ended(1, math.nan, math.inf)]) == []


def test_the_doctor_never_imports_torch() -> None:
    code = ("import sys, engine.train.doctor, engine.cli.doctor_cmds; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_two_faulty_blocks_are_named_nearest_the_loss_first() -> None:
    project = mlp()
    stats = simulate(project, gains={"fc1": (3000.0, 0.6), "fc2": (6000.0, 5800.0)})
    assert kinds(diagnose(project, [stats], [])) == [("exploding", "model/fc2"),
                                                     ("exploding", "model/fc1")]


def test_a_gain_reaches_through_blocks_that_are_not_measured() -> None:
    # Flatten has no module, so the statistics skip it: fc is judged against act
    project = chain([("conv", "Conv2d", {"out_channels": 8, "kernel_size": 3}), ("act", "ReLU", {}),
                     ("flat", "Flatten", {}), ("fc", "Linear", {"out_features": 3})])
    project.graphs["model"].node("x").params["shape"] = [1, 8, 8]
    stats = simulate(project, gains={"fc": (5000.0, 5000.0)})
    del stats.blocks["model/flat"]
    assert kinds(diagnose(project, [stats], [])) == [("exploding", "model/fc")]


def test_the_latest_statistics_keep_the_forward_order() -> None:
    from engine.train.doctor import latest_block_stats

    project = mlp()
    older = simulate(project, 1)
    newer = block_stats(2, {k: v for k, v in simulate(project, 2).blocks.items()
                            if k != "model/fc3"})
    latest = latest_block_stats([older, newer])
    assert list(latest) == ["model/fc1", "model/relu1", "model/fc2", "model/relu2", "model/fc3"]
    assert latest["model/fc1"]["step"] == 2 and latest["model/fc3"]["step"] == 1


def test_the_tail_of_a_decaying_schedule_is_not_a_low_learning_rate() -> None:
    # cosine over 3 epochs: the updates shrink with the rate, rightly
    project = mlp(lr=0.01, schedule="cosine")
    stats = [simulate(project, 10 * e + s, epoch=e, ratio=r)
             for e, r in ((1, 3e-3), (2, 1e-3), (3, 1e-7)) for s in (1, 5, 9)]
    epochs = [epoch_ended(1, 1.0, 1.0, 0.0075), epoch_ended(2, 0.8, 0.8, 0.0025),
              epoch_ended(3, 0.7, 0.7, 0.0)]
    assert diagnose(project, stats, epochs) == []
    # the same tiny updates at the full rate are
    flat = mlp(lr=0.01)
    epochs = [epoch_ended(e, 1.0, 1.0, 0.01) for e in (1, 2, 3)]
    assert kinds(diagnose(flat, stats, epochs)) == [("lr_low", "")]
