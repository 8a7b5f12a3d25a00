"""Each task's loss and metrics on tiny hand-made inputs, against straightforward references."""

from __future__ import annotations

import io
import math

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from engine.project import TaskSpec
from engine.tasks import classification_metrics, regression_metrics, sample_logits
from engine.tasks.gan import GanTask
from engine.tasks.images import grid_png


def _reference(pred: list[int], true: list[int], c: int) -> dict:
    cm = [[0] * c for _ in range(c)]
    for p, t in zip(pred, true, strict=True):
        cm[t][p] += 1
    prec, rec, f1 = [], [], []
    for k in range(c):
        tp = cm[k][k]
        col = sum(cm[r][k] for r in range(c))
        row = sum(cm[k])
        p = tp / col if col else 0.0
        r = tp / row if row else 0.0
        prec.append(p)
        rec.append(r)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    return {"cm": cm, "precision": sum(prec) / c, "recall": sum(rec) / c, "f1": sum(f1) / c,
            "f1_per_class": f1, "accuracy": sum(cm[k][k] for k in range(c)) / len(true)}


def test_classification_metrics_match_a_hand_computed_reference() -> None:
    true = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]
    pred = [0, 1, 0, 1, 2, 2, 2, 0, 2, 0]  # class 3 is never predicted
    got = classification_metrics(torch.tensor(pred), torch.tensor(true), 4)
    ref = _reference(pred, true, 4)
    assert got["confusion_matrix"] == ref["cm"]
    for k in ("accuracy", "precision", "recall", "f1"):
        assert got[k] == pytest.approx(ref[k])
    assert got["f1_per_class"] == pytest.approx(ref["f1_per_class"])
    assert got["f1_per_class"][3] == 0.0


def test_regression_metrics_match_formulas() -> None:
    y = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    p = torch.tensor([[1.5], [2.0], [2.0], [4.0]])
    m = regression_metrics(p, y)
    assert m["mae"] == pytest.approx((0.5 + 0 + 1 + 0) / 4)
    assert m["rmse"] == pytest.approx(math.sqrt((0.25 + 1) / 4))
    assert m["r2"] == pytest.approx(1 - 1.25 / 5.0)


def test_sampling_with_top_k_one_is_greedy() -> None:
    logits = torch.tensor([0.1, 3.0, 2.9, -1.0])
    g = torch.Generator().manual_seed(0)
    assert {sample_logits(logits, 1.5, 1, g) for _ in range(20)} == {1}
    assert sample_logits(logits, 0.0, 0, g) == 1


def test_sampling_with_top_k_never_picks_outside_the_top_k() -> None:
    logits = torch.tensor([5.0, 4.0, 0.0, 0.0, 0.0])
    g = torch.Generator().manual_seed(0)
    picks = {sample_logits(logits, 5.0, 2, g) for _ in range(200)}
    assert picks == {0, 1}


def _gan(loss: str) -> GanTask:
    class B:
        def denormalize(self, x):
            return x

    return GanTask(TaskSpec(kind="gan", loss=loss, latent_dim=4), B(), {}, "cpu")


def test_gan_bce_losses_match_the_definition() -> None:
    t = _gan("bce")
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    expect_d = -(torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean())
    assert t.d_loss(real, fake).item() == pytest.approx(expect_d.item(), rel=1e-5)
    assert t.g_loss(fake).item() == pytest.approx(-torch.log(torch.sigmoid(fake)).mean().item(), rel=1e-5)


def test_gan_hinge_losses_match_the_definition() -> None:
    t = _gan("hinge")
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.5])
    assert t.d_loss(real, fake).item() == pytest.approx((0 + 0.5) / 2 + (0 + 1.5) / 2)
    assert t.g_loss(fake).item() == pytest.approx(0.75)


def test_language_model_loss_is_cross_entropy_over_every_position() -> None:
    from engine.tasks.language_model import LanguageModelTask

    t = LanguageModelTask(TaskSpec(kind="language_model"), None, {}, "cpu")
    out = torch.randn(2, 3, 5, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([[0, 1, 2], [3, 4, 0]])
    manual = sum(-F.log_softmax(out[i, j], -1)[y[i, j]] for i in range(2) for j in range(3)) / 6
    assert t.loss(out, None, y).item() == pytest.approx(manual.item(), rel=1e-5)


def test_grid_png_lays_out_rows_and_columns() -> None:
    png = grid_png(torch.rand(10, 1, 8, 8), nrow=4, pad=2, scale=1)
    img = Image.open(io.BytesIO(png))
    assert img.size == (4 * 10 + 2, 3 * 10 + 2)
    assert img.mode == "L"


def test_macro_averages_are_over_the_datasets_classes_not_the_models_outputs() -> None:
    # a 10-output classifier (LeNet-5) on 3 classes: 7 outputs are not classes
    true = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    pred = [0, 0, 7, 1, 2, 1, 2, 2, 9]
    got = classification_metrics(torch.tensor(pred), torch.tensor(true), 3, num_outputs=10)
    # per class: precision 1, 2/3, 2/3... computed by hand over the 3 classes only
    prec = [2 / 2, 2 / 2, 2 / 3]
    rec = [2 / 3, 2 / 3, 2 / 3]
    f1 = [2 * p * r / (p + r) for p, r in zip(prec, rec, strict=True)]
    assert got["accuracy"] == pytest.approx(6 / 9)
    assert got["precision"] == pytest.approx(sum(prec) / 3)
    assert got["recall"] == pytest.approx(sum(rec) / 3)
    assert got["f1"] == pytest.approx(sum(f1) / 3)
    assert len(got["precision_per_class"]) == len(got["recall_per_class"]) == 3
    cm = got["confusion_matrix"]  # rows: the 3 classes; columns: the 10 outputs
    assert len(cm) == 3 and all(len(r) == 10 for r in cm)
    assert [sum(r) for r in cm] == [3, 3, 3] and cm[0][7] == 1 and cm[2][9] == 1


def test_classification_task_evaluates_over_the_bundles_classes() -> None:
    from engine.data.core import DataBundle, Split
    from engine.tasks import ClassificationTask

    x = torch.eye(3).repeat(6, 1)  # 18 samples, labels 0, 1, 2, ...
    y = torch.arange(3).repeat(6)
    split = Split(x, y)
    bundle = DataBundle(train=split, val=split, test=None, kind="vector", input_shape=(3,),
                        input_dtype="float", target="class", classes=["a", "b", "c"])
    model = torch.nn.Linear(3, 10, bias=False)
    with torch.no_grad():
        model.weight.zero_()
        model.weight[:3] = torch.eye(3)  # predicts every class right
    task = ClassificationTask(TaskSpec(kind="classification"), bundle, {"model": model})
    m = task.evaluate(split, 8)
    assert m["accuracy"] == m["precision"] == m["recall"] == m["f1"] == 1.0
    assert len(m["f1_per_class"]) == 3 and m["classes"] == ["a", "b", "c"]


def test_language_model_samples_a_corpus_without_the_prompts_characters() -> None:
    """The epoch's sample starts from "def "; a corpus with no "f" (or no "d") used to fail
    the run at its first sample with "not in the vocabulary"."""
    from engine.data.core import DataBundle
    from engine.tasks.language_model import LanguageModelTask

    vocab = list(" abce")  # neither "d" nor "f"
    bundle = DataBundle(train=None, val=None, test=None, kind="sequence", input_shape=(8,),
                        input_dtype="long", target="next", vocab=vocab, source="tiny.txt")

    class Uniform(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.zeros(*x.shape, len(vocab))

    task = LanguageModelTask(TaskSpec(kind="language_model"), bundle, {"model": Uniform()},
                             "cpu")
    out = task.sample(1)
    assert out is not None and out.text.startswith("e ")  # what is left of "def "
    assert len(out.text) == 2 + 160 and set(out.text) <= set(vocab)
