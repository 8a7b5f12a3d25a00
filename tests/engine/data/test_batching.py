import pytest
import torch

from engine.data import Augment, Split, iter_batches, load_dataset, num_batches, split_indices
from engine.project import DatasetSpec


def numbered(n: int = 103) -> Split:
    """x[i] = [i, -i] and y[i] = i, so every batch says which samples it holds."""
    i = torch.arange(n)
    return Split(torch.stack([i, -i], dim=1).float(), i.clone())


def seen(batches) -> list[int]:
    return [v for _, y in batches for v in y.tolist()]


def test_shuffled_epoch_covers_each_sample_once():
    ids = seen(iter_batches(numbered(), 10, shuffle=True, generator=torch.Generator().manual_seed(1)))
    assert sorted(ids) == list(range(103)) and ids != list(range(103))


def test_batches_have_the_requested_size_and_a_short_last_batch():
    sizes = [len(y) for _, y in iter_batches(numbered(), 10, shuffle=False)]
    assert sizes == [10] * 10 + [3] and num_batches(103, 10) == 11


def test_drop_last_skips_the_short_batch():
    sizes = [len(y) for _, y in iter_batches(numbered(), 10, shuffle=False, drop_last=True)]
    assert sizes == [10] * 10 and num_batches(103, 10, drop_last=True) == 10


def test_x_and_y_stay_paired_when_shuffled():
    for x, y in iter_batches(numbered(), 16, shuffle=True, generator=torch.Generator().manual_seed(2)):
        assert torch.equal(x[:, 0].long(), y) and torch.equal(x[:, 1].long(), -y)


def test_same_generator_seed_gives_the_same_order():
    a = seen(iter_batches(numbered(), 8, shuffle=True, generator=torch.Generator().manual_seed(5)))
    b = seen(iter_batches(numbered(), 8, shuffle=True, generator=torch.Generator().manual_seed(5)))
    c = seen(iter_batches(numbered(), 8, shuffle=True, generator=torch.Generator().manual_seed(6)))
    assert a == b and a != c


def test_start_resumes_at_that_batch_of_the_same_permutation():
    full = list(iter_batches(numbered(), 8, shuffle=True, generator=torch.Generator().manual_seed(3)))
    rest = list(
        iter_batches(numbered(), 8, shuffle=True, generator=torch.Generator().manual_seed(3), start=4)
    )
    assert seen(rest) == seen(full[4:])


def test_generator_advances_the_same_whatever_the_start():
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    list(iter_batches(numbered(), 8, shuffle=True, generator=g1))
    next(iter_batches(numbered(), 8, shuffle=True, generator=g2, start=7))
    assert torch.equal(g1.get_state(), g2.get_state())


def test_start_out_of_range_is_refused():
    with pytest.raises(ValueError, match="start"):
        iter_batches(numbered(), 10, shuffle=False, start=12)


def test_unshuffled_batches_are_views_in_order():
    split = numbered()
    x, y = next(iter_batches(split, 10, shuffle=False))
    assert x.data_ptr() == split.x.data_ptr() and y.tolist() == list(range(10))


def test_split_to_device_moves_once():
    split = numbered()
    assert split.to("cpu") is split
    moved = split.to("meta")  # a real second device on any machine
    assert moved.x.device.type == moved.y.device.type == "meta"
    assert moved.to("meta") is moved


def test_batches_move_to_the_requested_device():
    x, y = next(iter_batches(numbered(), 4, shuffle=True, generator=torch.Generator(), device="meta"))
    assert x.device.type == y.device.type == "meta" and x.shape == (4, 2)


def test_splits_without_targets_yield_none():
    split = Split(torch.randn(10, 3))
    assert [y for _, y in iter_batches(split, 4, shuffle=False)] == [None, None, None]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_and_augmentation_match_the_cpu():
    split = Split(torch.randn(24, 3, 10, 10), torch.arange(24))
    aug = Augment(flip=True, crop=2, rotate=15)

    def run(s, device=None):
        g = torch.Generator().manual_seed(7)
        return list(iter_batches(s, 8, shuffle=True, generator=g, augment=aug, device=device))

    cpu = run(split)
    for on_gpu in (run(split.to("cuda")), run(split, device="cuda")):
        for (xa, ya), (xb, yb) in zip(cpu, on_gpu, strict=True):
            assert xb.is_cuda and torch.equal(ya, yb.cpu())
            assert torch.allclose(xa, xb.cpu(), atol=1e-4)


def test_split_indices_are_disjoint_and_cover_everything():
    tr, va, te = split_indices(1000, 0.2, 0.1, seed=0)
    assert (len(tr), len(va), len(te)) == (700, 200, 100)
    together = torch.cat([tr, va, te])
    assert torch.equal(together.sort().values, torch.arange(1000))


def test_loaded_splits_do_not_overlap():
    spec = DatasetSpec(source="builtin", name="blobs", samples=500, val_fraction=0.2,
                       test_fraction=0.2, normalize=False)
    b = load_dataset(spec)
    rows = [set(map(tuple, s.x.tolist())) for s in (b.train, b.val, b.test)]
    assert len(rows[0]) + len(rows[1]) + len(rows[2]) == 500
    assert not (rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2])


def test_normalisation_statistics_come_from_train_only():
    base = dict(source="builtin", name="blobs", samples=500, val_fraction=0.3)
    raw = load_dataset(DatasetSpec(**base, normalize=False))
    norm = load_dataset(DatasetSpec(**base, normalize=True))
    assert norm.mean == pytest.approx(raw.train.x.double().mean(0).tolist(), rel=1e-6)
    assert norm.std == pytest.approx(raw.train.x.double().std(0, unbiased=False).tolist(), rel=1e-6)
    assert norm.mean != pytest.approx(raw.val.x.double().mean(0).tolist(), rel=1e-3)
    assert torch.allclose(norm.train.x.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(norm.denormalize(norm.val.x), raw.val.x, atol=1e-4)


def test_image_statistics_are_per_channel():
    b = load_dataset(DatasetSpec(source="builtin", name="digits"))
    assert len(b.mean) == len(b.std) == 1
    assert abs(b.train.x.mean().item()) < 1e-4 and abs(b.train.x.std().item() - 1) < 1e-2


def test_augmentation_is_deterministic_per_batch_position():
    split = Split(torch.randn(40, 3, 12, 12), torch.arange(40))
    aug = Augment(flip=True, crop=2, rotate=10)
    full = list(iter_batches(split, 8, shuffle=True, generator=torch.Generator().manual_seed(1), augment=aug))
    rest = list(
        iter_batches(split, 8, shuffle=True, generator=torch.Generator().manual_seed(1), augment=aug, start=3)
    )
    for (xa, ya), (xb, yb) in zip(full[3:], rest, strict=True):
        assert torch.equal(ya, yb) and torch.equal(xa, xb)
    assert not torch.equal(full[0][0], split.x.index_select(0, full[0][1]))


def test_flip_mirrors_about_half_the_images():
    x = torch.arange(16.0).view(1, 1, 4, 4).repeat(400, 1, 1, 1)
    out = Augment(flip=True)(x, torch.Generator().manual_seed(0))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert bool((flipped | kept).all()) and 150 < int(flipped.sum()) < 250


def test_crop_shifts_content_and_pads_with_zeros():
    x = torch.ones(64, 1, 6, 6)
    out = Augment(crop=2)(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    ones = out.sum(dim=(1, 2, 3))
    # each image keeps a (6-|dy|) x (6-|dx|) block of ones; shifts of up to 2 pixels
    assert ones.max() == 36 and ones.min() >= 16 and (ones < 36).any()


def test_rotation_keeps_the_centre_and_changes_corners():
    x = torch.zeros(8, 1, 15, 15)
    x[:, :, 7, :] = 1.0  # a horizontal line through the centre
    out = Augment(rotate=30)(x, torch.Generator().manual_seed(0))
    assert torch.allclose(out[:, 0, 7, 7], torch.ones(8), atol=1e-4)
    assert not torch.allclose(out, x, atol=1e-3)


def test_image_bundles_offer_augmentation_from_the_spec():
    spec = DatasetSpec(source="builtin", name="digits", augment_flip=True, augment_crop=1)
    b = load_dataset(spec)
    assert isinstance(b.augment, Augment) and b.augment.flip and b.augment.crop == 1
    assert load_dataset(DatasetSpec(source="builtin", name="digits")).augment is None
