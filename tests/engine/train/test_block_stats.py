"""Block statistics (issue 17): measured every K steps in real runs, with the contract's
keys, right figures, no effect on the weights, recorded in events.jsonl."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from engine.templates import load_template
from engine.train import RunDir, record, train
from engine.train.events import BLOCK_STAT_KEYS, BlockStats, Finished
from engine.train.overrides import apply_overrides
from engine.train.stats import BlockMeter, read_block_stats
from tests.engine.train.helpers import tiny_mlp

MLP_BLOCKS = ["model/fc1", "model/relu1", "model/fc2", "model/relu2", "model/fc3"]


def _stats(events) -> list[BlockStats]:
    assert isinstance(events[-1], Finished), events[-1]
    return [e for e in events if isinstance(e, BlockStats)]


@pytest.fixture(scope="module")
def mlp_runs(tmp_path_factory):
    """The tiny MLP (8 steps an epoch, 2 epochs) with statistics every 4 steps, every
    step, and off."""
    root = tmp_path_factory.mktemp("stats")
    runs = {}
    for every in (4, 1, 0):
        path = root / f"every{every}"
        project = tiny_mlp(training__stats_every=every)
        runs[every] = (path, list(record(train(project, path), RunDir(path))))
    return runs


def test_statistics_come_every_k_steps_with_the_contract_keys(mlp_runs) -> None:
    stats = _stats(mlp_runs[4][1])
    assert [s.step for s in stats] == [1, 4, 8, 12, 16]
    assert [s.epoch for s in stats] == [1, 1, 1, 2, 2]
    for s in stats:
        assert list(s.blocks) == MLP_BLOCKS  # the forward pass's order
        for key, figures in s.blocks.items():
            assert tuple(figures) == BLOCK_STAT_KEYS
            relu = "relu" in key
            assert (figures["dead"] is not None) == relu
            assert figures["act_mean"] is not None and figures["act_std"] > 0
            assert figures["grad_out"] > 0
            for k in ("grad_params", "update_ratio", "param_norm"):
                # a ReLU has no parameters: nothing to say about them
                assert (figures[k] is None) == relu, (key, k)
            if not relu:
                assert 0 < figures["update_ratio"] < 1 and figures["param_norm"] > 0


def test_statistics_are_recorded_and_read_back_from_the_run_folder(mlp_runs) -> None:
    path, events = mlp_runs[4]
    read = read_block_stats(path)
    assert [(s.epoch, s.step, s.blocks) for s in read] == \
        [(s.epoch, s.step, s.blocks) for s in _stats(events)]
    assert read_block_stats(path / "nowhere") == []


def test_no_statistics_when_off_and_the_weights_are_the_same_either_way(mlp_runs) -> None:
    assert _stats(mlp_runs[0][1]) == []
    assert len(_stats(mlp_runs[1][1])) == 16
    off = load_file(mlp_runs[0][0] / "weights.safetensors")
    for every in (1, 4):
        on = load_file(mlp_runs[every][0] / "weights.safetensors")
        assert off.keys() == on.keys() and all(torch.equal(off[k], on[k]) for k in off)
    # the epoch figures too (summed in windows that follow the wall clock: to rounding)
    ended = [[e.train for e in events if e.type == "epoch_ended"] for _, events in mlp_runs.values()]
    for a, b in zip(ended[0], ended[2], strict=True):
        assert a == pytest.approx(b, rel=1e-6)


def test_a_relu_after_a_bias_of_minus_100_is_entirely_dead(tmp_path) -> None:
    init = tmp_path / "init.safetensors"
    save_file({"fc1.bias": torch.full((64,), -100.0)}, init)
    project = tiny_mlp(training__stats_every=8, training__epochs=1, training__init_from=str(init))
    first = _stats(list(train(project, tmp_path / "run")))[0]
    assert first.step == 1
    assert first.blocks["model/relu1"]["dead"] == 1.0
    assert first.blocks["model/relu1"]["act_mean"] == 0.0
    assert first.blocks["model/relu2"]["dead"] < 1.0


class _Net(nn.Module):
    """Blocks as the compiler makes them: children named by node id."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.act = nn.Sigmoid()
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.act(self.fc(x)))


def test_the_figures_are_what_they_say() -> None:
    torch.manual_seed(0)
    net, x = _Net(), torch.randn(8, 3)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    meter = BlockMeter({"model": net}, {"model": ["model"]}, every=1)
    before = [p.detach().clone() for p in net.fc.parameters()]
    meter.start()
    h = net.fc(x)
    h.retain_grad()
    s = net.act(h)
    out = net.head(s)
    loss = out.pow(2).mean()
    meter.backward("model")
    opt.zero_grad()
    loss.backward()
    meter.gradients("model")
    grads = [p.grad.clone() for p in net.fc.parameters()]
    meter.before_update("model")
    opt.step()
    meter.updated("model")
    ev = meter.finish(epoch=1, step=1)
    fc, act = ev.blocks["model/fc"], ev.blocks["model/act"]

    def norm(ts):
        return math.sqrt(sum(float(t.pow(2).sum()) for t in ts))

    assert list(ev.blocks) == ["model/fc", "model/act", "model/head"]
    h, h_grad = h.detach(), h.grad
    assert fc["act_mean"] == pytest.approx(float(h.mean()), abs=1e-6)
    assert fc["act_std"] == pytest.approx(float(h.std(correction=0)), rel=1e-4)
    assert fc["grad_out"] == pytest.approx(float(h_grad.norm()), rel=1e-5)
    assert fc["grad_params"] == pytest.approx(norm(grads), rel=1e-5)
    after = [p.detach() for p in net.fc.parameters()]
    change = norm([a - b for a, b in zip(after, before, strict=True)])
    assert fc["update_ratio"] == pytest.approx(change / norm(before), rel=1e-4)
    assert fc["param_norm"] == pytest.approx(norm(after), rel=1e-5)
    saturated = float(((s < 0.01) | (s > 0.99)).float().mean())
    assert act["dead"] == pytest.approx(saturated)
    assert act["grad_params"] is act["update_ratio"] is act["param_norm"] is None
    # the hooks are gone after the measured step
    assert not any(m._forward_hooks for m in net.modules())


def test_a_cnn_and_a_gan_are_measured_block_by_block(tmp_path) -> None:
    quick = {"training.epochs": 1, "training.threads": 1, "training.device": "cpu",
             "training.stats_every": 10}
    cnn = apply_overrides(load_template("lenet5"), {**quick, "dataset.samples": 240})
    stats = _stats(list(train(cnn, tmp_path / "cnn")))
    assert [s.step for s in stats] == [1, 10, 20]  # 23 steps
    blocks = stats[-1].blocks
    assert list(blocks)[:3] == ["model/conv1", "model/relu1", "model/pool1"]
    assert "model/fc3" in blocks and "model/flatten" not in blocks  # no module: not measured
    assert 0 <= blocks["model/relu1"]["dead"] <= 1  # per channel of a 4-D output
    assert blocks["model/conv1"]["update_ratio"] > 0

    gan = apply_overrides(load_template("dcgan"), {**quick, "dataset.samples": 240})
    stats = _stats(list(train(gan, tmp_path / "gan")))
    blocks = stats[0].blocks
    graphs = {key.split("/")[0] for key in blocks}
    assert graphs == {"generator", "discriminator"}
    assert list(blocks)[0] == "generator/fc"  # the generator runs first
    for key, figures in blocks.items():
        assert tuple(figures) == BLOCK_STAT_KEYS
        # each graph's gradients come from its own loss; both optimizers stepped at step 1
        assert figures["grad_out"] is not None, key
    assert blocks["generator/tanh"]["dead"] is not None
    assert blocks["discriminator/conv1"]["update_ratio"] > 0
    assert blocks["generator/fc"]["update_ratio"] > 0


def test_gradients_are_reported_without_a_grad_scalers_factor() -> None:
    def measure(factor: float) -> dict:
        torch.manual_seed(0)
        net, x = _Net(), torch.randn(8, 3)
        meter = BlockMeter({"model": net}, {"model": ["model"]}, every=1)
        meter.start(scale=(lambda: factor) if factor != 1 else None)
        loss = net(x).pow(2).mean() * factor
        meter.backward("model")
        loss.backward()
        meter.gradients("model")
        return meter.finish(epoch=1, step=1).blocks["model/fc"]

    plain, scaled = measure(1.0), measure(1024.0)
    assert scaled["grad_out"] == pytest.approx(plain["grad_out"], rel=1e-5)
    assert scaled["grad_params"] == pytest.approx(plain["grad_params"], rel=1e-5)
