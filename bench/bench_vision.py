"""Segmentation and detection on the built-in shapes scenes, CPU (issue 22).

``unet_val_miou`` / ``detector_val_map50``: the "U-Net (segmentation)" template trained on
``builtin:shapes_seg`` and the "Detector (anchor-free)" template on ``builtin:shapes_det``,
as shipped (their own epochs, data and settings) except the device, forced to the CPU.
The templates' ``training.epochs`` is what keeps them within 5 minutes of training;
``*_train_seconds`` reports the training time actually spent (the sum of the epochs'
training parts, as the trainer measures them), ``*_wall_seconds`` the whole run with its
per-epoch validation. Targets: mIoU >= 0.90 and mAP@0.5 >= 0.80, each in <= 300 s.

``unet_vs_handwritten`` / ``detector_vs_handwritten``: training throughput of the engine
against a hand-written PyTorch loop over the very module the engine trains (the compiled
graph, same seed), the same in-memory tensors batched by index with the same joint
augmentation, the same batch size, optimizer (class and settings) and loss, and the same
threads; target >= 0.97. The losses are the tasks' own functions (cross-entropy with
ignore_index plus soft Dice; CenterNet's targets and focal loss): what is measured is
everything around them. Epochs alternate in one run and the medians are compared.

``python -m bench.bench_vision --quick`` runs a few epochs on fewer images, to check the
script itself; its figures mean nothing. ``unet``/``detector`` and ``quality``/``throughput``
on that command line run only those parts.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from bench.interleaved import engine_vs_handwritten
from bench.runs import cpu_project, timed_run

ROUNDS = 5
THROUGHPUT_SAMPLES = 640  # a short epoch: each round costs one engine and one hand epoch
NAMES = {"unet": "unet_val_miou", "detector": "detector_val_map50"}
HEADLINE = {"unet": "miou", "detector": "map50"}


def quality(template: str, tmp: Path, quick: bool = False) -> dict[str, float]:
    """Train the template as shipped (CPU); its last epoch's validation headline figure."""
    project = cpu_project(template, quick)
    last, train_s, wall = timed_run(project, tmp / template)
    return {NAMES[template]: float(last.val[HEADLINE[template]]),
            f"{template}_epochs": float(last.epoch),
            f"{template}_train_seconds": train_s,
            f"{template}_wall_seconds": wall}


def _loss_fn(project, bundle):
    """The task's loss for (maps or scores, targets), written as a plain loop would use it."""
    kind, spec = project.task.kind, project.task
    if kind == "segmentation":
        from engine.tasks.segmentation import soft_dice_loss

        def seg_loss(out, x, y):
            out = out.float()
            valid = (y != spec.ignore_index) & (y < out.shape[1])
            ce = F.cross_entropy(out, torch.where(valid, y, -100), ignore_index=-100,
                                 reduction="sum") / valid.sum().clamp(min=1)
            return ce + soft_dice_loss(out, y, valid)

        return seg_loss
    from engine.vision.centernet import centernet_loss

    k = len(bundle.classes)

    def det_loss(out, x, y):
        stride = x.shape[-1] // out.shape[-1]
        return centernet_loss(out, y, k, stride, spec.size_weight)["loss"]

    return det_loss


def _optimizer(model, cfg):
    """The engine's optimizer for this config: same class, learning rate and settings."""
    kinds = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    if cfg.optimizer not in kinds:
        raise ValueError(f"bench_vision handles adam and adamw, not {cfg.optimizer}")
    return kinds[cfg.optimizer](model.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                                weight_decay=cfg.weight_decay)


def throughput(template: str, tmp: Path, rounds: int = ROUNDS,
               samples: int = THROUGHPUT_SAMPLES) -> dict[str, float]:
    """Engine epochs against hand-written ones, interleaved; ratio of median samples/s."""
    from engine.compile import compile_graph
    from engine.data import load_dataset
    from engine.data.core import batch_generator
    from engine.train import train

    project = cpu_project(template)
    project.dataset.samples = samples
    cfg = project.training
    cfg.epochs = 1 + rounds
    cfg.early_stopping = False
    torch.set_num_threads(cfg.threads)
    bundle = load_dataset(project.dataset)
    x, y, augment = bundle.train.x, bundle.train.y, bundle.augment
    n, bs = x.shape[0], cfg.batch_size
    model = compile_graph(project.graphs["model"], "model", cfg.seed)  # the engine's module
    opt = _optimizer(model, cfg)
    loss_fn = _loss_fn(project, bundle)
    g = torch.Generator().manual_seed(cfg.seed)

    def hand_epoch() -> float:
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=g)
        seed = int(torch.randint(0, 2**62, (1,), generator=g))
        for b, lo in enumerate(range(0, n, bs)):
            idx = perm[lo:lo + bs]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            if augment is not None:
                xb, yb = augment.pair(xb, yb, batch_generator(seed, b))
            loss = loss_fn(model(xb), xb, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return time.perf_counter() - t0

    eng, hand = engine_vs_handwritten(train(project, tmp / f"{template}-throughput", bundle=bundle), hand_epoch,
                                      n)
    return {f"{template}_engine_samples_per_s": eng,
            f"{template}_handwritten_samples_per_s": hand,
            f"{template}_vs_handwritten": eng / hand}


def run(quick: bool = False, templates=("unet", "detector"),
        parts=("quality", "throughput")) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="lf-bench-vision-"))
    try:
        out: dict[str, float] = {}
        for template in templates:
            if "quality" in parts:
                out.update(quality(template, tmp, quick))
            if "throughput" in parts:
                out.update(throughput(template, tmp, rounds=2, samples=96) if quick
                           else throughput(template, tmp))
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    # python -m bench.bench_vision [--quick] [unet|detector] [quality|throughput]
    args = sys.argv[1:]
    chosen = [a for a in args if a in NAMES] or list(NAMES)
    parts = [a for a in args if a in ("quality", "throughput")] or ["quality", "throughput"]
    for k, v in run("--quick" in args, chosen, parts).items():
        print(f"{k} = {v:.4g}")
    sys.exit(0)
