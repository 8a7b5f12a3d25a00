"""Search ranges: every SPEC form parses, checks against the project and applies; wrong keys
and ranges give a sentence naming the key."""

from __future__ import annotations

import pytest

from engine.errors import UserError
from engine.sweep.space import SearchRange, SweepError, apply_point, check_space, parse_param
from engine.sweep.study import grid_size, parse_objective
from engine.templates import load_template


@pytest.fixture(scope="module")
def mlp():
    return load_template("mlp")


@pytest.mark.parametrize(("text", "key", "expected"), [
    ("training.lr=float:1e-4..1e-1:log", "training.lr",
     SearchRange("float", 1e-4, 1e-1, log=True)),
    ("dataset.val_fraction=float:0..0.5", "dataset.val_fraction", SearchRange("float", 0.0, 0.5)),
    ("dataset.val_fraction=float:0.1..0.5:0.1", "dataset.val_fraction",
     SearchRange("float", 0.1, 0.5, step=0.1)),
    ("fc1.out_features=int:16..256", "fc1.out_features", SearchRange("int", 16, 256)),
    ("fc1.out_features=int:16..256:16", "fc1.out_features", SearchRange("int", 16, 256, step=16)),
    ("model/fc1.out_features=int:8..512:log", "model/fc1.out_features",
     SearchRange("int", 8, 512, log=True)),
    ("training.optimizer=choice:adam,sgd", "training.optimizer",
     SearchRange("choice", choices=("adam", "sgd"))),
    ("training.batch_size=choice:32,64", "training.batch_size",
     SearchRange("choice", choices=(32, 64))),
    ("training.nesterov=choice:true,false", "training.nesterov",
     SearchRange("choice", choices=(True, False))),
])
def test_every_spec_form_parses_checks_and_round_trips(mlp, text, key, expected):
    got_key, rng = parse_param(text)
    assert (got_key, rng) == (key, expected)
    assert parse_param(f"{key}={rng.spec()}")[1] == rng  # what the study stores parses back
    check_space(mlp, {key: rng})
    for value in rng.ends():
        changed = apply_point(mlp, {key: value})
        if key.startswith(("training.", "dataset.")):
            section, name = key.split(".")
            assert getattr(getattr(changed, section), name) == value
        else:
            assert changed.graphs["model"].node("fc1").params["out_features"] == value
    assert mlp.graphs["model"].node("fc1").params["out_features"] == 64  # the original kept
    assert mlp.training.lr == 0.01


@pytest.mark.parametrize(("text", "words"), [
    ("training.lr", "expected KEY=SPEC"),
    ("training.lr=floaty:1..2", "float:, int: or choice:"),
    ("training.lr=float:1", "float:LOW..HIGH"),
    ("training.lr=float:0.1..0.01", "LOW must be below HIGH"),
    ("training.lr=float:0..1:log", "log range needs LOW above 0"),
    ("fc1.out_features=int:1.5..8", "whole number"),
    ("fc1.out_features=int:8..64:0", "step must be above 0"),
    ("fc1.out_features=int:8..64:abc", "the step must be a whole number"),
    ("act.kind=choice:", "list the choices"),
    ("act.kind=choice:a,a", "listed twice"),
])
def test_malformed_specs_are_refused_with_the_key(text, words):
    with pytest.raises(SweepError) as e:
        parse_param(text)
    assert words in str(e.value)
    assert text.split("=")[0] in str(e.value)
    assert isinstance(e.value, UserError)


@pytest.mark.parametrize(("text", "words"), [
    ("training.learning_rate=float:0.1..1", "no such setting"),
    ("training.lr=float:0.1..200", "training.lr"),  # above the setting's bound (100)
    ("training.epochs=float:1..5", "whole number; use int"),
    ("training.optimizer=int:1..5", "not a number; use choice"),
    ("nope.out_features=int:1..5", "no block 'nope'"),
    ("other/fc1.out_features=int:1..5", "no graph 'other'"),
    ("fc1.width=int:1..5", "no field 'width'"),
    ("fc1.out_features=int:0..5", "out_features must be at least 1"),
    ("fc1.out_features=float:1..5", "whole number"),
    ("lr=float:0.1..1", "name a setting"),
])
def test_keys_and_ranges_that_do_not_fit_the_project_name_the_key(mlp, text, words):
    key, rng = parse_param(text)
    with pytest.raises(SweepError) as e:
        check_space(mlp, {key: rng})
    assert words in str(e.value)
    assert f"--param {key}" in str(e.value)


def test_every_wrong_key_is_listed_at_once(mlp):
    space = dict(parse_param(t) for t in ("fc9.out_features=int:1..2", "training.lr=float:1..2",
                                          "training.bogus=int:1..2"))
    with pytest.raises(SweepError) as e:
        check_space(mlp, space)
    lines = str(e.value).splitlines()
    assert len(lines) == 2 and "fc9" in lines[0] and "training.bogus" in lines[1]


def test_the_same_field_twice_is_refused(mlp):
    space = dict(parse_param(t) for t in ("fc1.out_features=int:1..2",
                                          "model/fc1.out_features=int:3..4"))
    with pytest.raises(SweepError, match="the same field as --param fc1.out_features"):
        check_space(mlp, space)


def test_grid_values_and_sizes():
    assert parse_param("a.b=int:16..64:16")[1].grid("a.b") == [16, 32, 48, 64]
    assert parse_param("a.b=float:0..0.5:0.25")[1].grid("a.b") == [0.0, 0.25, 0.5]
    space = dict(parse_param(t) for t in ("a.b=int:1..3", "c.d=choice:x,y"))
    assert grid_size(space) == 6
    with pytest.raises(SweepError, match="grid sampler needs a finite list"):
        parse_param("a.b=float:0..1")[1].grid("a.b")


def test_objectives_parse_and_refuse_other_metrics():
    assert parse_objective("val_accuracy:max").maximize
    assert parse_objective("params:min").static
    for bad in ("val_accuracy", "accuracy:max", "val_loss:low"):
        with pytest.raises(SweepError, match="--objective"):
            parse_objective(bad)
