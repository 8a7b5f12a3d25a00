"""Data sets whose groups differ by construction, for the bias report tests.

``write_csv``: points (x1, x2) labelled 1 when x1 + x2 > 0. Group A's labels are exact;
group B's points are shifted by +0.7 on both axes (so the rule calls more of them 1: a
higher selection rate) and a share ``NOISE`` of B's labels is flipped, so a model that
learns the rule is right on about all of A and on about 1 - NOISE of B. Group C is tiny.
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image

NOISE = 0.3
SHARES = (("A", 0.5), ("B", 0.45), ("C", 0.05))


def write_csv(path: Path, n: int = 1200, seed: int = 0) -> Path:
    rng = random.Random(seed)
    lines = ["x1,x2,group,label"]
    for _ in range(n):
        r, group = rng.random(), "C"
        if r < 0.5:
            group = "A"
        elif r < 0.95:
            group = "B"
        shift = 0.7 if group == "B" else 0.0
        x1, x2 = rng.gauss(shift, 1.0), rng.gauss(shift, 1.0)
        label = int(x1 + x2 > 0)
        if group == "B" and rng.random() < NOISE:
            label = 1 - label
        lines.append(f"{x1:.4f},{x2:.4f},{group},{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


def csv_project(path: Path, **fairness):
    """The mlp template on the CSV file, the group column kept out of the features."""
    from engine.project import DatasetSpec, FairnessSpec
    from engine.templates import load_template

    p = load_template("mlp")
    p.dataset = DatasetSpec(source="csv", path=str(path), target="label", val_fraction=0.25,
                            options={"ignore_columns": ["group"], "task": "class"})
    p.training = p.training.model_copy(update={"epochs": 12, "threads": 1, "device": "cpu",
                                                 "batch_size": 64})
    p.fairness = FairnessSpec(**fairness)
    return p


def write_image_tree(root: Path) -> Path:
    """root/CLASS/SITE/img.png: classes cat and dog, sites indoor and outdoor (sizes
    differ per class and site, so an order mix-up shows)."""
    counts = {("cat", "indoor"): 7, ("cat", "outdoor"): 5, ("dog", "indoor"): 4,
              ("dog", "outdoor"): 8}
    for k, ((cls, site), count) in enumerate(counts.items()):
        d = root / cls / site
        d.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.new("L", (6, 6), (30 * k + 9 * i) % 256).save(d / f"{site}{i:02d}.png")
    return root
