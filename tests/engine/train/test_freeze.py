"""Freezing blocks: frozen parameters stay out of the optimizer and are bit-identical after
training, batch norms of frozen blocks keep their statistics, lr_mult scales a block's
learning rate, and composites freeze as a whole or per inner block."""

from __future__ import annotations

import torch
from safetensors.torch import load_file

from engine.project import Edge, Graph, Node
from engine.tasks import task_class
from engine.train.events import Failed, Finished, RunStarted
from engine.train.freeze import FineTune, finetune_problems
from engine.train.loop import train
from engine.train.optim import LRSchedule, apply_lr, build_optimizer
from engine.train.setup import build_models
from tests.engine.train.helpers import tiny_mlp


def with_batch_norm(**overrides):
    """The tiny MLP with a BatchNorm1d after fc1."""
    project = tiny_mlp(**overrides)
    g = project.graphs["model"]
    g.nodes.insert(2, Node(id="bn1", type="BatchNorm1d"))
    g.edges = [e for e in g.edges if e.src != "fc1"] + [Edge(src="fc1", dst="bn1"),
                                                        Edge(src="bn1", dst="relu1")]
    return project


def freeze(project, *ids, graph="model", **fields):
    for nid in ids:
        node = project.graphs[graph].node(nid)
        assert node is not None
        node.trainable = False
        for k, v in fields.items():
            setattr(node, k, v)
    return project


def initial(project):
    models = build_models(project, task_class(project.task.kind), project.training.seed,
                          torch.device("cpu"))
    return {k: v.clone() for k, v in models["model"].state_dict().items()}


def final(run_dir):
    prefix = "model/model/"
    return {k[len(prefix):]: v for k, v in load_file(run_dir / "weights.safetensors").items()
            if k.startswith(prefix)}


def run(project, run_dir):
    events = list(train(project, run_dir))
    assert isinstance(events[-1], Finished), events[-1]
    return events


def test_frozen_linear_and_batch_norm_are_bit_identical_after_training(tmp_path) -> None:
    project = freeze(with_batch_norm(), "fc1", "bn1")
    before = initial(project)
    run(project, tmp_path / "run")
    after = final(tmp_path / "run")
    for key in ("fc1.weight", "fc1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean",
                "bn1.running_var", "bn1.num_batches_tracked"):
        assert torch.equal(before[key], after[key]), key
    assert not torch.equal(before["fc2.weight"], after["fc2.weight"])  # the rest trained


def test_without_freeze_bn_a_frozen_batch_norm_still_tracks_statistics(tmp_path) -> None:
    project = freeze(with_batch_norm(training__freeze_bn=False), "fc1", "bn1")
    before = initial(project)
    run(project, tmp_path / "run")
    after = final(tmp_path / "run")
    assert torch.equal(before["bn1.weight"], after["bn1.weight"])  # parameters frozen
    assert not torch.equal(before["bn1.running_mean"], after["bn1.running_mean"])


def test_frozen_parameters_are_not_in_the_optimizer_and_run_started_counts_them(tmp_path) -> None:
    project = freeze(tiny_mlp(), "fc1")
    models = build_models(project, task_class("classification"), 0, torch.device("cpu"))
    tune = FineTune(project, models)
    opt = build_optimizer(project.training, tune.groups(["model"]), torch.device("cpu"))
    in_opt = {id(p) for g in opt.param_groups for p in g["params"]}
    named = dict(models["model"].named_parameters())
    assert id(named["fc1.weight"]) not in in_opt and id(named["fc2.weight"]) in in_opt
    assert not named["fc1.weight"].requires_grad
    events = run(project, tmp_path / "run")
    started = next(e for e in events if isinstance(e, RunStarted))
    fc1 = named["fc1.weight"].numel() + named["fc1.bias"].numel()
    assert started.trainable_parameters == started.parameters - fc1
    assert started.config["trainable_parameters"] == started.trainable_parameters


def test_lr_mult_gives_a_block_its_own_group_scaled_by_every_schedule_step() -> None:
    project = tiny_mlp(training__schedule="cosine", training__lr=0.1)
    project.graphs["model"].node("fc3").lr_mult = 10.0
    models = build_models(project, task_class("classification"), 0, torch.device("cpu"))
    tune = FineTune(project, models)
    opt = build_optimizer(project.training, tune.groups(["model"]), torch.device("cpu"))
    assert [g["lr_mult"] for g in opt.param_groups] == [1.0, 10.0]
    assert [len(g["params"]) for g in opt.param_groups] == [4, 2]
    schedule = LRSchedule(project.training, 10, 100)
    lr = apply_lr(schedule, [opt], 50)
    assert 0 < lr < 0.1
    assert [g["lr"] for g in opt.param_groups] == [lr, lr * 10.0]


def test_everything_frozen_fails_with_a_sentence(tmp_path) -> None:
    project = freeze(tiny_mlp(), "fc1", "fc2", "fc3")
    (failed,) = [e for e in train(project, tmp_path / "run") if isinstance(e, Failed)]
    assert "frozen" in failed.message and "unfreeze_epoch" in failed.message


def test_unfreeze_naming_a_missing_block_is_refused_before_the_run_folder(tmp_path) -> None:
    project = freeze(tiny_mlp(training__unfreeze_epoch=2, training__unfreeze=["fc1", "fc9"]),
                     "fc1")
    probs = finetune_problems(project)
    assert [p.severity for p in probs] == ["error"] and "'fc9'" in probs[0].message
    events = list(train(project, tmp_path / "run"))
    assert isinstance(events[-1], Failed) and "fc9" in events[-1].message
    assert not (tmp_path / "run/project.lforge").exists()  # only the run lock is there
    assert not (tmp_path / "run/checkpoints").exists()


def test_unfreeze_epoch_after_the_last_epoch_is_a_warning() -> None:
    project = freeze(tiny_mlp(training__unfreeze_epoch=5), "fc1")
    (p,) = finetune_problems(project)
    assert p.severity == "warning" and "never" in p.message


# --- composites -----------------------------------------------------------------------------

def composite_project(**overrides):
    """model: points -> enc1 (Group of 'block') -> enc2 (Group of 'block') -> fc3 -> logits,
    where 'block' is Input -> inner1 -> relu -> inner2 -> Output."""
    project = tiny_mlp(**overrides)
    block = Graph(nodes=[Node(id="x", type="Input", params={"shape": [2]}),
                         Node(id="inner1", type="Linear", params={"out_features": 8}),
                         Node(id="act", type="ReLU"),
                         Node(id="inner2", type="Linear", params={"out_features": 2}),
                         Node(id="y", type="Output")],
                  edges=[Edge(src="x", dst="inner1"), Edge(src="inner1", dst="act"),
                         Edge(src="act", dst="inner2"), Edge(src="inner2", dst="y")])
    model = Graph(nodes=[Node(id="points", type="Input", params={"shape": [2]}),
                         Node(id="enc1", type="Group", params={"graph": "block"}),
                         Node(id="enc2", type="Group", params={"graph": "block"}),
                         Node(id="fc3", type="Linear", params={"out_features": 3}),
                         Node(id="logits", type="Output")],
                  edges=[Edge(src="points", dst="enc1", dst_port="x"),
                         Edge(src="enc1", dst="enc2", dst_port="x"),
                         Edge(src="enc2", dst="fc3"), Edge(src="fc3", dst="logits")])
    project.graphs = {"model": model, "block": block}
    return project


def trainable(project) -> dict[str, bool]:
    models = build_models(project, task_class("classification"), 0, torch.device("cpu"))
    FineTune(project, models)
    return {k: p.requires_grad for k, p in models["model"].named_parameters()}


def test_a_frozen_group_node_freezes_its_whole_submodule() -> None:
    project = composite_project()
    project.graphs["model"].node("enc1").trainable = False
    got = trainable(project)
    assert not any(v for k, v in got.items() if k.startswith("enc1."))
    assert all(v for k, v in got.items() if not k.startswith("enc1."))


def test_a_frozen_inner_node_is_frozen_in_every_use() -> None:
    project = composite_project()
    project.graphs["block"].node("inner1").trainable = False
    got = trainable(project)
    assert {k for k, v in got.items() if not v} == {
        "enc1.inner1.weight", "enc1.inner1.bias", "enc2.inner1.weight", "enc2.inner1.bias"}


def test_a_group_lr_mult_covers_its_submodule_unless_an_inner_node_sets_its_own() -> None:
    project = composite_project()
    project.graphs["model"].node("enc1").lr_mult = 0.1
    project.graphs["block"].node("inner2").lr_mult = 3.0
    models = build_models(project, task_class("classification"), 0, torch.device("cpu"))
    tune = FineTune(project, models)
    names = {id(p): k for k, p in models["model"].named_parameters()}
    groups = {g["lr_mult"]: sorted(names[id(p)] for p in g["params"])
              for g in tune.groups(["model"])}
    assert groups == {
        0.1: ["enc1.inner1.bias", "enc1.inner1.weight"],
        3.0: ["enc1.inner2.bias", "enc1.inner2.weight", "enc2.inner2.bias", "enc2.inner2.weight"],
        1.0: ["enc2.inner1.bias", "enc2.inner1.weight", "fc3.bias", "fc3.weight"],
    }


def test_a_frozen_composite_trains_bit_identical(tmp_path) -> None:
    project = composite_project()
    project.graphs["model"].node("enc1").trainable = False
    before = initial(project)
    run(project, tmp_path / "run")
    after = final(tmp_path / "run")
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("enc1."))
    assert not torch.equal(before["enc2.inner1.weight"], after["enc2.inner1.weight"])


def test_unfreeze_can_name_a_block_inside_a_frozen_composite() -> None:
    project = composite_project(training__unfreeze_epoch=2, training__epochs=3,
                                training__unfreeze=["enc1.inner2"])
    project.graphs["model"].node("enc1").trainable = False
    assert finetune_problems(project) == []
    models = build_models(project, task_class("classification"), 0, torch.device("cpu"))
    tune = FineTune(project, models)
    names = {id(p): k for k, p in models["model"].named_parameters()}
    later = sorted(names[id(p)] for g in tune.groups(["model"], phase2=True) for p in g["params"])
    assert later == ["enc1.inner2.bias", "enc1.inner2.weight"]
    assert tune.later_blocks == ["enc1.inner2"]


def test_unfreeze_epoch_without_any_frozen_block_is_a_warning() -> None:
    (p,) = finetune_problems(tiny_mlp(training__unfreeze_epoch=2))
    assert p.severity == "warning" and "nothing to unfreeze" in p.message
