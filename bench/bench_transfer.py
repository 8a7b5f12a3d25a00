"""Transfer learning, measured offline (issue 15).

``transfer_finetuned_val_accuracy_<E>ep`` / ``transfer_scratch_val_accuracy_<E>ep``: a small CNN is
pretrained on scikit-learn's digits 0-4, then trained on digits 5-9 with only 20 images
per class, once initialised from the pretraining run (``training.init_from``; every block
but the new head takes its weights) and once from scratch: same graph, same epochs, same
seed, same 100 images, validated on every other image of 5-9, for budgets of 10, 20 and 30
epochs. ``transfer_gain_points_<E>ep`` is the difference in accuracy points.

``finetune_vs_handwritten``: training throughput of a zoo backbone (ResNet-18 as a
composite, stem and first two stages frozen, batch norm of frozen blocks in eval mode) at
64x64 inputs against a hand-written loop over the transformers ResNet with the same frozen
set, same head, optimizer, data and threads; target >= 0.97. Epochs alternate in one run
and the medians are compared.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.interleaved import engine_vs_handwritten

BUDGETS = (10, 20, 30)  # epochs; the same for fine-tuning and scratch
PER_CLASS = 20


def _digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    return (x - 0.3) / 0.4, torch.tensor(d.target, dtype=torch.long)


def _bundle(x, y, train_idx, val_idx, classes):
    from engine.data.core import DataBundle, Split

    names = [str(c) for c in classes]
    yy = y - classes[0]  # classes are consecutive digits
    return DataBundle(train=Split(x[train_idx], yy[train_idx]), val=Split(x[val_idx], yy[val_idx]),
                      test=None, kind="image", input_shape=(1, 8, 8), input_dtype="float",
                      target="class", classes=names, source=f"digits {classes[0]}-{classes[-1]}")


def _project(head: str, epochs: int):
    from engine.project import DatasetSpec, Edge, Graph, Node, Project, TrainingConfig

    chain = [("image", "Input", {"shape": [1, 8, 8]}),
             ("conv1", "Conv2d", {"out_channels": 32}), ("relu1", "ReLU", {}),
             ("conv2", "Conv2d", {"out_channels": 64}), ("relu2", "ReLU", {}),
             ("pool", "MaxPool2d", {"kernel_size": 2, "stride": 2}),
             ("conv3", "Conv2d", {"out_channels": 64}), ("relu3", "ReLU", {}),
             ("gap", "GlobalAvgPool", {}), ("fc", "Linear", {"out_features": 64}),
             ("relu4", "ReLU", {}), (head, "Linear", {"out_features": 5}), ("logits", "Output", {})]
    graph = Graph(nodes=[Node(id=i, type=t, params=p) for i, t, p in chain],
                  edges=[Edge(src=a[0], dst=b[0]) for a, b in zip(chain, chain[1:], strict=False)])
    return Project(name="digits", graphs={"model": graph},
                   dataset=DatasetSpec(name="digits", normalize=False),
                   training=TrainingConfig(optimizer="adam", lr=2e-3, batch_size=20, epochs=epochs,
                                           seed=0, threads=1, device="cpu"))


def _train(project, run_dir: Path, bundle) -> float:
    from engine.train import train

    last = None
    for ev in train(project, run_dir, bundle=bundle):
        if ev.type == "failed":
            raise RuntimeError(ev.message)
        if ev.type == "epoch_ended":
            last = ev
    return float(last.val["accuracy"])


def transfer(tmp: Path) -> dict[str, float]:
    x, y = _digits()
    low = torch.nonzero(y < 5).flatten()
    a = _bundle(x, y, low[torch.randperm(len(low), generator=torch.Generator().manual_seed(0))][
        : int(len(low) * 0.8)], low[-50:], [0, 1, 2, 3, 4])
    pre = _train(_project("head", 15), tmp / "pretrain", a)
    g = torch.Generator().manual_seed(1)
    train_idx, val_idx = [], []
    for c in range(5, 10):
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        train_idx.append(idx[:PER_CLASS])
        val_idx.append(idx[PER_CLASS:])
    b = _bundle(x, y, torch.cat(train_idx), torch.cat(val_idx), [5, 6, 7, 8, 9])
    out = {"transfer_pretrain_val_accuracy": pre}
    for epochs in BUDGETS:
        tuned = _project("new_head", epochs)
        tuned.training.init_from = str(tmp / "pretrain")
        finetuned = _train(tuned, tmp / f"finetune{epochs}", b)
        scratch = _train(_project("new_head", epochs), tmp / f"scratch{epochs}", b)
        out[f"transfer_finetuned_val_accuracy_{epochs}ep"] = finetuned
        out[f"transfer_scratch_val_accuracy_{epochs}ep"] = scratch
        out[f"transfer_gain_points_{epochs}ep"] = 100 * (finetuned - scratch)
    return out


def throughput(tmp: Path, rounds: int = 7, batch: int = 32, samples: int = 512) -> dict[str, float]:
    """Engine vs a hand-written loop over transformers' ResNet-18, same frozen set."""
    import torch.nn.functional as F
    from transformers import ResNetConfig, ResNetModel

    from engine.compile import compile_graph
    from engine.data.core import DataBundle, Split
    from engine.project import Edge, Graph, Node, Project, TrainingConfig
    from engine.train import train
    from engine.train.runtime import resolve_threads
    from engine.zoo import resnet
    from engine.zoo.catalog import entry, entry_config

    size = 64
    config = entry_config(entry("resnet18"))
    backbone = resnet.build(config, size, layout=False)
    frozen_prefixes = ("stem_", "s1_", "s2_")
    for node in backbone.nodes:
        node.trainable = not node.id.startswith(frozen_prefixes)
    model = Graph(nodes=[Node(id="image", type="Input", params={"shape": [3, size, size]}),
                         Node(id="backbone", type="Group", params={"graph": "backbone"}),
                         Node(id="head", type="Linear", params={"out_features": 10}),
                         Node(id="out", type="Output")],
                  edges=[Edge(src="image", dst="backbone", dst_port="image"),
                         Edge(src="backbone", dst="head"), Edge(src="head", dst="out")])
    threads = resolve_threads(0)
    torch.set_num_threads(threads)
    project = Project(graphs={"model": model, "backbone": backbone},
                      training=TrainingConfig(optimizer="adam", lr=1e-3, batch_size=batch,
                                              epochs=1 + rounds, threads=threads, device="cpu"))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(samples, 3, size, size, generator=g)
    y = torch.randint(0, 10, (samples,), generator=g)
    bundle = DataBundle(train=Split(x, y), val=Split(x[:batch], y[:batch]), test=None,
                        kind="image", input_shape=(3, size, size), input_dtype="float",
                        target="class", classes=[str(i) for i in range(10)], source="random")

    hf = ResNetModel(ResNetConfig(**{k: v for k, v in config.items()
                                     if k not in ("model_type", "architectures")}))
    head = torch.nn.Linear(512, 10)
    frozen_hf = [hf.embedder, hf.encoder.stages[0], hf.encoder.stages[1]]
    for m in frozen_hf:
        m.requires_grad_(False)
    params = [p for p in [*hf.parameters(), *head.parameters()] if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-3)
    del compile_graph  # the engine compiles its own; imported only to load the engine path

    def hand_epoch() -> float:
        hf.train()
        for m in frozen_hf:
            m.eval()  # batch norm of frozen blocks keeps its statistics, as the engine does
        perm = torch.randperm(samples, generator=g)
        t0 = time.perf_counter()
        for i in range(0, samples, batch):
            idx = perm[i:i + batch]
            feats = hf(pixel_values=x.index_select(0, idx)).pooler_output.flatten(1)
            loss = F.cross_entropy(head(feats), y.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return time.perf_counter() - t0

    eng, hand = engine_vs_handwritten(train(project, tmp / "throughput", bundle=bundle), hand_epoch,
                                      samples)
    return {"finetune_engine_samples_per_s": eng, "finetune_handwritten_samples_per_s": hand,
            "finetune_vs_handwritten": eng / hand}


def run() -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="lf-bench-transfer-"))
    try:
        return {**transfer(tmp), **throughput(tmp)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    for k, v in run().items():
        print(f"{k} = {v:.4g}")
    sys.exit(0)
