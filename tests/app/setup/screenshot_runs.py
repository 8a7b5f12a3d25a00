"""Train the tiny runs the panel screenshots show (like the tests' runs, trained
longer so the samples show something):
``python -m tests.app.setup.screenshot_runs OUT_DIR`` writes OUT_DIR/mlp, OUT_DIR/lenet,
OUT_DIR/lm and OUT_DIR/gan. See docs/setup-and-evaluation.md for the screenshot commands."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.app.setup.conftest import CORPUS, _train


def main(out: Path) -> None:
    from engine.project import DatasetSpec
    from engine.templates import load_template

    out.mkdir(parents=True, exist_ok=True)
    p = load_template("mlp")
    p.dataset = p.dataset.model_copy(update={"samples": 300})
    p.training = p.training.model_copy(update={"epochs": 3, "threads": 1})
    _train(p, out / "mlp")
    p = load_template("lenet5")  # image classification: digits scaled to 28x28
    p.dataset = p.dataset.model_copy(update={"image_size": 28})
    p.training = p.training.model_copy(update={"epochs": 3, "threads": 1})
    _train(p, out / "lenet")
    corpus = out / "corpus.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    p = load_template("charlstm")
    p.dataset = DatasetSpec(source="text", path=str(corpus), seq_len=16, val_fraction=0.1)
    p.training = p.training.model_copy(update={"epochs": 6, "threads": 1})
    _train(p, out / "lm")
    p = load_template("dcgan")
    p.dataset = p.dataset.model_copy(update={"samples": 1500})
    p.training = p.training.model_copy(update={"epochs": 8, "threads": 1})
    _train(p, out / "gan")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
