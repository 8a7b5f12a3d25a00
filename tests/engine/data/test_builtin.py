import pytest
import torch

from engine.data import BUILTIN, DataError, iter_batches, load_dataset
from engine.project import DatasetSpec

# name -> (kind, input_shape, input_dtype, target, classes)
EXPECTED = {
    "spirals": ("vector", (2,), "float", "class", 3),
    "moons": ("vector", (2,), "float", "class", 2),
    "blobs": ("vector", (2,), "float", "class", 4),
    "shapes": ("image", (1, 28, 28), "float", "class", 6),
    "sines": ("sequence", (32, 1), "float", "real", 0),
    "digits": ("image", (1, 8, 8), "float", "class", 10),
    "pytext": ("tokens", (32,), "long", "next_token", None),
}


def spec(name: str, **kw) -> DatasetSpec:
    kw.setdefault("samples", 600)
    return DatasetSpec(source="builtin", name=name, seq_len=32, **kw)


# the scene sets (masks and boxes as targets) are covered in test_scenes.py, the language
# and sound sets in test_texts_builtin.py and test_audio_builtin.py
SCENES = {"shapes_seg", "shapes_det"}
LANGUAGE = {"sentiment", "dates", "keywords", "spoken_digits"}


def test_every_builtin_is_covered():
    assert set(EXPECTED) | SCENES | LANGUAGE == set(BUILTIN)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_loads_with_expected_shapes(name):
    kind, shape, dtype, target, classes = EXPECTED[name]
    b = load_dataset(spec(name))
    assert (b.kind, b.input_shape, b.input_dtype, b.target) == (kind, shape, dtype, target)
    assert tuple(b.train.x.shape[1:]) == shape and tuple(b.val.x.shape[1:]) == shape
    assert b.train.x.dtype == (torch.long if dtype == "long" else torch.float32)
    if classes is None:  # tokens: one class per character
        assert b.num_classes == len(b.vocab) > 20
        assert b.train.y.shape == b.train.x.shape
    elif classes:
        assert b.num_classes == len(b.classes) == classes
        assert set(b.train.y.unique().tolist()) == set(range(classes))
    else:
        assert b.train.y.shape == (len(b.train), 1) and b.target_shape == (1,)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_is_deterministic_by_seed(name):
    a, b = load_dataset(spec(name, split_seed=3)), load_dataset(spec(name, split_seed=3))
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.val.y, b.val.y)
    if name not in ("digits", "pytext"):  # fixed real data: only generated sets change
        c = load_dataset(spec(name, split_seed=4))
        assert not torch.equal(a.train.x, c.train.x)


def test_samples_sets_the_size_of_generated_sets():
    b = load_dataset(spec("moons", samples=500, val_fraction=0.2))
    assert (len(b.train), len(b.val)) == (400, 100)


def test_spirals_can_have_two_arms():
    b = load_dataset(spec("spirals", options={"arms": 2}))
    assert b.classes == ["arm 1", "arm 2"]


def test_spirals_are_learnable_by_a_small_mlp():
    torch.manual_seed(0)
    b = load_dataset(spec("spirals", samples=3000))
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 3),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(40):
        for x, y in iter_batches(b.train, 128, shuffle=True, generator=g):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        accuracy = (model(b.val.x).argmax(1) == b.val.y).float().mean().item()
    assert accuracy >= 0.95


def test_shapes_classes_are_distinguishable():
    b = load_dataset(spec("shapes", samples=1200, normalize=False))
    assert len(b.classes) >= 4 and "circle" in b.classes and "cross" in b.classes
    x, y = b.train.x, b.train.y
    assert x.min() >= 0.0 and x.max() <= 1.0
    # a nearest-class-mean classifier on pixels beats chance by far: a real task
    means = torch.stack([x[y == k].flatten(1).mean(0) for k in range(len(b.classes))])
    guess = torch.cdist(b.val.x.flatten(1), means).argmin(1)
    assert (guess == b.val.y).float().mean() > 2.0 / len(b.classes)


def test_sines_target_continues_the_window():
    b = load_dataset(spec("sines", normalize=False, options={"noise": 0.0}))
    x, y = b.train.x[:, :, 0], b.train.y[:, 0]
    # a pure sine satisfies s[t+1] = 2 cos(w) s[t] - s[t-1]; recover 2cos(w) from the window
    k = (x[:, 2] + x[:, 0]) / x[:, 1]
    ok = x[:, 1].abs() > 0.2
    predicted = k * x[:, -1] - x[:, -2]
    assert torch.allclose(predicted[ok], y[ok], atol=1e-3)


def test_pytext_is_a_large_corpus_that_round_trips():
    b = load_dataset(DatasetSpec(source="builtin", name="pytext", seq_len=64, val_fraction=0.1))
    chars = (len(b.train) + len(b.val)) * 64
    assert chars >= 200_000
    x, y = b.train.x[5], b.train.y[5]
    assert torch.equal(x[1:], y[:-1])  # y is x shifted by one
    text = b.decode(x)
    assert torch.equal(b.encode(text), x)


def test_encode_rejects_unknown_characters():
    b = load_dataset(spec("pytext"))
    with pytest.raises(DataError, match="not in the vocabulary"):
        b.encode("snowman \u2603")


def test_unknown_builtin_names_the_choices():
    with pytest.raises(DataError, match="spirals"):
        load_dataset(DatasetSpec(source="builtin", name="nope"))


def test_bad_builtin_option_is_reported():
    with pytest.raises(DataError, match="arms"):
        load_dataset(spec("spirals", options={"arms": "many"}))
