"""Training throughput of the engine against hand-written PyTorch loops doing the same work.

``engine_vs_handwritten``: the engine's training samples/s divided by a plain loop (same
LeNet-5, same in-memory tensors batched by index, same batch size, optimizer and threads);
target >= 0.97; that loop's model layout and optimizer are the engine's (channels_last for
convolutions, fused kernels), so the figure is the loop's own overhead.
``engine_vs_dataloader``: divided by the usual DataLoader(TensorDataset) loop over the same
tensors with PyTorch's defaults (memory layout, optimizer kernel): the tutorial's loop,
what a user would otherwise write; target >= 1.15. The variants alternate epoch by epoch in one run;
each round's engine epoch is compared with the other variants' epochs of the same round, and
the median of those per-round ratios is the figure (a pairing that cancels the machine's slow
drifts, which the ratio of two medians does not). Evaluation, checkpoints and setup are
outside the timed part for all of them. The engine runs with block statistics off here: these
figures are the loop's own overhead.

``mlp_*``: the same on a small MLP (spirals), whose steps are so short that where a
training's tensors happen to lie in memory moves its speed by up to 3%: two identical
hand-written loops side by side differ that much (``mlp_hand_vs_hand``, reported so the
spread is seen). Three trainings of each variant therefore run side by side and each round
compares their summed seconds (13 rounds of 3).

``stats_cost_mlp`` / ``stats_cost_resnet_mini``: what block statistics every 50 steps cost,
1 - (throughput with them / without); target <= 0.03. Two trainings of the same project, one
measuring and one not, advance epoch by epoch in turn in one process. The MLP's epochs take a
quarter of a second, so its figures use 39 rounds rather than 9 for the same spread.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

ROUNDS = 9
#: the MLP's epochs take a quarter of a second: more rounds for the same spread
MLP_ROUNDS = 4 * ROUNDS + 3
#: the MLP comparison runs this many trainings of each variant side by side (see compare)
MLP_INSTANCES = 3


def handwritten_epoch(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
                      y: torch.Tensor, bs: int, g: torch.Generator,
                      autocast: Callable = torch.autocast, device_type: str = "cpu",
                      amp: bool = False) -> float:
    """One epoch batched by index; returns seconds (synchronised on CUDA)."""
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    sync()
    t0 = time.perf_counter()
    perm = torch.randperm(x.shape[0], generator=g).to(x.device)
    for i in range(0, x.shape[0], bs):
        idx = perm[i:i + bs]
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(model(xb).float(), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync()
    return time.perf_counter() - t0


def dataloader_epoch(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
                     y: torch.Tensor, bs: int, g: torch.Generator, device_type: str = "cpu",
                     amp: bool = False) -> float:
    """One epoch through DataLoader(TensorDataset), the usual tutorial loop."""
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=bs,
                                         shuffle=True, generator=g)
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for xb, yb in loader:
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(model(xb).float(), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync()
    return time.perf_counter() - t0


def compare(device: str = "cpu", rounds: int = ROUNDS, amp: bool = False,
            template: str = "lenet5", samples: int | None = None,
            instances: int = 1) -> dict[str, float]:
    """Interleave engine / hand-written / DataLoader epochs; ratios of throughput.

    ``instances`` trainings of each variant run side by side (the same weights, each its
    own tensors in memory). Each round advances every one of them by one epoch, engine
    first and then the others while the engine's generator is suspended, so all variants
    see the same machine conditions; a round's figure for a variant is the sum of its
    instances' seconds. Two instances of the very same loop differ by up to 3% on a small
    model from where their tensors lie in memory alone; summing several evens that out.
    With two or more, ``hand_vs_hand`` (the first hand-written instance against the
    second) shows how far apart identical loops are.
    """
    from engine.compile import compile_graph
    from engine.data import load_dataset
    from engine.templates import load_template
    from engine.train import train
    from engine.train.optim import build_optimizer
    from engine.train.runtime import resolve_threads
    from engine.train.setup import in_training_layout

    project = load_template(template)
    assert project.training.optimizer == "adam", "the DataLoader loop's optimizer is Adam"
    if samples:
        project.dataset.samples = samples
    cfg = project.training
    cfg.device, cfg.amp, cfg.epochs = device, amp, 1 + rounds
    cfg.stats_every = 0  # the loop's own overhead: block statistics are measured separately
    cfg.threads = resolve_threads(0)
    torch.set_num_threads(cfg.threads)
    bundle = load_dataset(project.dataset).to(device)
    x, y = bundle.train.x, bundle.train.y
    n, bs = x.shape[0], cfg.batch_size
    dev_type = torch.device(device).type

    def loop(fn: Callable, usual: bool) -> Callable[[], float]:
        # the very module the engine trains: same graph, same seed, same weights
        model = compile_graph(project.graphs["model"], "model", cfg.seed).to(device)
        if usual:  # the tutorial's loop: the default memory layout and optimizer kernel
            opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        else:  # the same work: the layout and the optimizer as the engine makes them
            model = in_training_layout(model, torch.device(device))
            opt = build_optimizer(cfg, list(model.parameters()), torch.device(device))
        g = torch.Generator().manual_seed(cfg.seed)
        return lambda: fn(model, opt, x, y, bs, g, device_type=dev_type, amp=amp)

    tmp = tempfile.mkdtemp(prefix="lf-bench-")
    runs = [train(project, f"{tmp}/{i}", bundle=bundle) for i in range(instances)]
    variants = {"engine": [lambda run=run: _next_epoch(run) for run in runs],
                "hand": [loop(handwritten_epoch, usual=False) for _ in range(instances)],
                "dl": [loop(dataloader_epoch, usual=True) for _ in range(instances)]}
    times: dict[str, list[list[float]]] = {k: [] for k in variants}
    try:
        for r in range(1 + rounds):
            seconds = {k: [0.0] * instances for k in variants}
            for i in range(instances):
                for name, epochs in variants.items():
                    seconds[name][i] = epochs[i]()
            if r:  # the first epoch of every variant warms up
                for name in variants:
                    times[name].append(seconds[name])
    finally:
        for run in runs:
            run.close()
        shutil.rmtree(tmp, ignore_errors=True)
    total = {k: [sum(t) for t in v] for k, v in times.items()}
    eng, hand, dl = (n * instances / statistics.median(total[k]) for k in ("engine", "hand", "dl"))
    figures = {
        "engine_samples_per_s": eng,
        "handwritten_samples_per_s": hand,
        "dataloader_samples_per_s": dl,
        "engine_vs_handwritten": paired_ratio(total["hand"], total["engine"]),
        "engine_vs_dataloader": paired_ratio(total["dl"], total["engine"]),
    }
    if instances > 1:
        figures["hand_vs_hand"] = paired_ratio([t[1] for t in times["hand"]],
                                               [t[0] for t in times["hand"]])
    return figures


def paired_ratio(theirs: list[float], ours: list[float]) -> float:
    """Median over rounds of (their seconds / ours): our throughput relative to theirs,
    each round's epochs compared with each other (they ran seconds apart)."""
    return statistics.median(t / o for t, o in zip(theirs, ours, strict=True))


def _next_epoch(run: Iterator) -> float:
    """Advance a training generator to its next epoch's end; that epoch's seconds."""
    for ev in run:
        if ev.type == "failed":
            raise RuntimeError(ev.message)
        if ev.type == "epoch_ended":
            return ev.seconds
    raise RuntimeError("the run ended early")


def stats_cost(template: str, samples: int, rounds: int = ROUNDS, every: int = 50,
               device: str = "cpu") -> float:
    """1 - (throughput with block statistics every ``every`` steps / without).

    ``samples`` should give a multiple of ``every`` steps per epoch, so every timed epoch
    holds the same number of measured steps. The two runs alternate epochs (which goes first
    alternates too); the first epoch of each warms up; the rest are compared round by round
    (:func:`paired_ratio`)."""
    from engine.data import load_dataset
    from engine.templates import load_template
    from engine.train import train
    from engine.train.runtime import resolve_threads

    project = load_template(template)
    project.dataset.samples = samples
    cfg = project.training
    cfg.device, cfg.epochs, cfg.threads = device, 1 + rounds, resolve_threads(0)
    bundle = load_dataset(project.dataset).to(device)
    variants = {}
    for name, k in (("on", every), ("off", 0)):
        p = project.model_copy(deep=True)
        p.training.stats_every = k
        variants[name] = p
    tmp = tempfile.mkdtemp(prefix="lf-bench-")
    runs = {name: train(p, f"{tmp}/{name}", bundle=bundle) for name, p in variants.items()}
    times: dict[str, list[float]] = {"on": [], "off": []}
    try:
        for r in range(1 + rounds):
            for name in (("on", "off") if r % 2 else ("off", "on")):
                t = _next_epoch(runs[name])
                if r:
                    times[name].append(t)
    finally:
        for run in runs.values():
            run.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 - paired_ratio(times["off"], times["on"])


def run() -> dict[str, float]:
    figures = compare("cpu")
    # A small MLP, where the data path is a larger share of each step than in LeNet-5.
    mlp = compare("cpu", template="mlp", samples=40_000, rounds=MLP_ROUNDS // MLP_INSTANCES,
                  instances=MLP_INSTANCES)
    figures["mlp_engine_vs_handwritten"] = mlp["engine_vs_handwritten"]
    figures["mlp_engine_vs_dataloader"] = mlp["engine_vs_dataloader"]
    figures["mlp_hand_vs_hand"] = mlp["hand_vs_hand"]
    # 40,000 spirals: 500 steps an epoch; 4,000 shapes: 50 (the train split is 80%)
    figures["stats_cost_mlp"] = stats_cost("mlp", 40_000, rounds=MLP_ROUNDS)
    figures["stats_cost_resnet_mini"] = stats_cost("resnetmini", 4_000)
    return figures


if __name__ == "__main__":
    for k, v in run().items():
        print(f"{k} = {v:.4g}")
    sys.exit(0)
