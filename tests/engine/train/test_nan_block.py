"""The NaN guard names the block where a non-finite value first appeared (issue 17)."""

from __future__ import annotations

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from engine.train import RunDir, record, train
from engine.train.events import Failed, Warning, read_events
from engine.train.nonfinite import nonfinite_origin
from tests.engine.train.helpers import tiny_mlp


def test_a_block_that_overflows_is_named_in_the_warning_and_the_failure(tmp_path) -> None:
    init = tmp_path / "huge.safetensors"
    save_file({"fc2.weight": torch.full((64, 64), 3e38)}, init)  # finite, but its sums are not
    run = tmp_path / "run"
    events = list(record(train(tiny_mlp(training__init_from=str(init)), run), RunDir(run)))
    said = "it first appeared in the output of block 'fc2' (model/fc2)"
    warning = next(e for e in events if isinstance(e, Warning) and e.kind == "nan")
    assert warning.block == "model/fc2" and said in warning.message
    assert isinstance(events[-1], Failed) and said in events[-1].message
    assert "epoch 1, step 1" in events[-1].message
    recorded = [e for e in read_events(run / "events.jsonl") if isinstance(e, Warning)]
    assert [e.block for e in recorded if e.kind == "nan"] == ["model/fc2"]
    weights = load_file(run / "weights.safetensors")
    assert torch.equal(weights["model/model/fc2.weight"], torch.full((64, 64), 3e38))  # no update applied


class _Sqrt(nn.Module):
    def forward(self, x):
        return x.sqrt()


class _Net(nn.Module):
    """fc outputs zeros; the square root of zero has an infinite gradient."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(3)
        self.root = _Sqrt()
        self.head = nn.Linear(4, 2)
        nn.init.zeros_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        with torch.no_grad():  # what the search must undo: a random draw, batch statistics
            self.norm(nn.functional.dropout(x, 0.5))
        return self.head(self.root(self.fc(x)))


class _Task:
    """The part of a Task the search uses."""

    def __init__(self, model: nn.Module) -> None:
        self.models = {"model": model}
        self.count = 0

    def optimizers(self):
        return {"model": ["model"]}

    def state_dict(self):
        return {"count": self.count}

    def load_state_dict(self, state):
        self.count = state["count"]

    def train_step(self, x, y, step):
        self.count += 1
        loss = nn.functional.cross_entropy(self.models["model"](x), y)
        step("model", loss)
        return {"loss": loss.detach()}


def test_a_gradient_that_goes_infinite_names_its_block_and_changes_nothing() -> None:
    torch.manual_seed(0)
    net = _Net()
    task = _Task(net)
    x, y = torch.randn(6, 3), torch.zeros(6, dtype=torch.long)
    buffers = {k: v.clone() for k, v in net.state_dict().items()}
    rng = torch.get_rng_state()
    assert nonfinite_origin(task, {"model": net}, x, y) == ("model/fc", "gradient")
    # no update, no running statistics, no random draws, no task state, no gradients left
    assert all(torch.equal(buffers[k], v) for k, v in net.state_dict().items())
    assert torch.equal(torch.get_rng_state(), rng)
    assert task.count == 0 and task.models["model"] is net
    assert all(p.grad is None for p in net.parameters())
    assert not any(m._forward_hooks for m in net.modules())


def test_finite_values_name_no_block() -> None:
    torch.manual_seed(0)
    net = nn.Sequential()
    net.add_module("fc", nn.Linear(3, 2))
    task = _Task(net)
    assert nonfinite_origin(task, {"model": net}, torch.randn(4, 3),
                            torch.zeros(4, dtype=torch.long)) is None
