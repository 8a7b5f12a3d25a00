"""The learning-rate finder on the spirals MLP: its suggestion against a grid search over the
same epochs, its curve built as training builds it, nothing written, GANs refused."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest

from engine.errors import UserError
from engine.project import Project, load_project
from engine.train.events import EpochEnded, Failed, Progress, RunStarted
from engine.train.loop import train
from engine.train.lr_find import LRFindError, lr_find, smooth, suggest
from engine.train.overrides import apply_overrides

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"
STEPS = 200  # the finder's default
#: the grid: every quarter decade from 1e-4 to 1
GRID = [10 ** (k / 4) for k in range(-16, 1)]
HALF_DECADE = math.sqrt(10)


def spirals(**settings) -> Project:
    base = {"training.device": "cpu", "training.threads": 1}
    return apply_overrides(load_project(EXAMPLES / "mlp.lforge"), base | settings)


def _train(project: Project, run_dir: Path) -> tuple[float, float, int]:
    """(the final validation loss, the first batch's loss, steps per epoch)."""
    val, first, spe = math.nan, math.nan, 0
    for ev in train(project, run_dir):
        if isinstance(ev, RunStarted):
            spe = ev.steps_per_epoch
        elif isinstance(ev, Progress) and math.isnan(first):
            first = ev.losses[0]
        elif isinstance(ev, EpochEnded):
            val = ev.val["loss"]
        elif isinstance(ev, Failed):
            raise AssertionError(ev.message)
    return val, first, spe


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> dict:
    """Each grid rate trained for the epochs the finder's ramp spans (the project as it is,
    its cosine schedule included, only training.lr changed); the best by the final
    validation loss."""
    root = tmp_path_factory.mktemp("grid")
    _, first, spe = _train(spirals(**{"training.epochs": 1}), root / "probe")
    epochs = max(1, round(STEPS / spe))
    val = {lr: _train(spirals(**{"training.lr": lr, "training.epochs": epochs}),
                      root / f"lr{i}")[0] for i, lr in enumerate(GRID)}
    return {"best": min(val, key=val.__getitem__), "val": val, "first_loss": first,
            "epochs": epochs, "run": root / "probe"}


@pytest.fixture(scope="module")
def found():
    return lr_find(spirals(), steps=STEPS)


def test_suggestion_is_within_half_a_decade_of_the_grid_searchs_best_rate(grid, found) -> None:
    assert found.suggestion is not None, found.message
    ratio = found.suggestion / grid["best"]
    assert 1 / HALF_DECADE <= ratio <= HALF_DECADE, (
        f"suggested {found.suggestion:.3g}, grid best {grid['best']:.3g} over "
        f"{grid['epochs']} epochs: {grid['val']}")
    assert f"{found.suggestion:.3g}" in found.message


def test_the_ramp_starts_where_training_starts(grid, found) -> None:
    # the same initial weights, data order, task and loss: the first batch's loss is the
    # first step's loss of a real run with the same seed
    assert found.raw_losses[0] == pytest.approx(grid["first_loss"], rel=1e-6)


def test_the_curve_is_an_exponential_ramp_with_a_bias_corrected_average(found) -> None:
    lrs = found.lrs
    assert len(lrs) == len(found.losses) == len(found.raw_losses) == STEPS
    assert lrs[0] == pytest.approx(1e-7) and lrs[-1] == pytest.approx(1.0)
    ratios = {round(b / a, 9) for a, b in zip(lrs, lrs[1:], strict=False)}
    assert len(ratios) == 1
    assert found.losses == pytest.approx(smooth(found.raw_losses))
    assert found.losses[0] == found.raw_losses[0]  # no pull towards zero at the start


def test_project_file_and_weights_are_unchanged(grid, tmp_path) -> None:
    # the project starts from a trained run's weights (training.init_from): the finder
    # reads them, and writes nothing anywhere
    project_file = tmp_path / "mlp.lforge"
    project_file.write_bytes((EXAMPLES / "mlp.lforge").read_bytes())
    run = grid["run"]
    before = _hashes(tmp_path) | _hashes(run)
    project = spirals(**{"training.init_from": str(run)})
    dumped = project.model_dump()
    result = lr_find(project, steps=30)
    assert _hashes(tmp_path) | _hashes(run) == before
    assert project.model_dump() == dumped
    # it did start from those weights: one trained epoch is far below a fresh model's loss
    assert result.raw_losses[0] < 0.8 * grid["first_loss"]


def test_a_gan_is_refused_with_a_sentence() -> None:
    project = apply_overrides(load_project(EXAMPLES / "dcgan.lforge"),
                              {"training.device": "cpu", "training.threads": 1})
    with pytest.raises(LRFindError) as e:
        lr_find(project, steps=30)
    text = str(e.value)
    assert isinstance(e.value, UserError)
    assert "one optimizer" in text and "discriminator" in text and "generator" in text
    assert "Traceback" not in text


def test_a_flat_curve_gives_no_suggestion_and_says_why() -> None:
    # rates far too small to move the weights: the loss stays where it started
    result = lr_find(spirals(), steps=30, start=1e-12, end=1e-11)
    assert result.suggestion is None
    assert "hardly fell" in result.message and "widen the range" in result.message


def test_a_diverging_ramp_stops_early() -> None:
    result = lr_find(spirals(**{"training.optimizer": "sgd"}), steps=150, start=1e-3,
                     end=1e6)
    assert len(result.lrs) < 150
    assert "diverged" in result.message


def test_should_stop_ends_the_ramp_without_a_suggestion() -> None:
    seen: list[int] = []
    result = lr_find(spirals(), steps=100, progress=lambda s, n, lr, loss: seen.append(s),
                     should_stop=lambda: len(seen) >= 12)
    assert len(result.lrs) == 12 and seen == list(range(1, 13))
    assert result.suggestion is None and "Stopped after 12 of 100 steps" in result.message


@pytest.mark.parametrize(("steps", "start", "end"), [(5, 1e-7, 1.0), (200, 1.0, 1e-7),
                                                     (200, 0.0, 1.0), (200, 1e-7, math.inf)])
def test_bad_ramp_settings_are_refused(steps, start, end) -> None:
    with pytest.raises(LRFindError):
        lr_find(spirals(), steps=steps, start=start, end=end)


def test_suggest_lies_between_the_steepest_descent_and_the_minimum() -> None:
    lrs = [10 ** (-6 + 6 * i / 99) for i in range(100)]

    def loss(lr: float) -> float:  # falls fastest at 1e-3, lowest at 1e-1, then climbs
        x = math.log10(lr)
        return 1 - 0.5 * math.tanh(2 * (x + 3)) + (0.5 * (x + 1) ** 2 if x > -1 else 0.0)

    rate, why = suggest(lrs, [loss(lr) for lr in lrs])
    assert why == ""
    assert rate == pytest.approx(math.sqrt(1e-3 * 1e-1), rel=0.15)


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}
