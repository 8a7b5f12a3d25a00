"""Differentially private training, measured (issue 24).

LeNet-5 (resources/examples/lenet5.lforge) on the built-in digits (1,437 images to train,
360 to validate), the same epochs, seed and data for every run: trained without privacy,
then with DP-SGD (Opacus, PRV accountant, delta = 1/N, per-sample clipping norm 1) at
target epsilon 1, 3 and 8.

``privacy_val_accuracy_nonprivate`` and ``privacy_val_accuracy_eps<E>``: validation
accuracy after the last epoch. Private training uses a higher learning rate (LR_PRIVATE):
the clipped, noised gradient is smaller and noisier than the plain one, the usual practice.
``privacy_throughput_ratio``: training steps per second with DP-SGD (Opacus'
GradSampleModule and DPOptimizer, as a private run uses them) over plain steps, the same
LeNet-5, batch of 64, Adam and threads, in alternating rounds in one process (medians of
the rounds' ratios, so that other load on the machine falls on both alike; the runs'
epoch times, not alternating, varied tenfold under such load). ``privacy_noise_eps<E>``: the noise multiplier each target needed.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

EPOCHS = 8
EPSILONS = (1.0, 3.0, 8.0)
LR = 0.002  # the example's
LR_PRIVATE = 0.01
BATCH = 64
EXAMPLE = Path(__file__).resolve().parent.parent / "resources" / "examples" / "lenet5.lforge"


def _project(epsilon: float | None):
    from engine.project import load_project
    from engine.train.overrides import apply_overrides

    settings = {"training.epochs": EPOCHS, "training.threads": 2, "training.device": "cpu",
                "training.batch_size": BATCH, "training.stats_every": 0,
                "training.lr": LR if epsilon is None else LR_PRIVATE}
    if epsilon is not None:
        settings |= {"training.privacy.enabled": True, "training.privacy.epsilon": epsilon}
    return apply_overrides(load_project(EXAMPLE), settings)


def _train(project, bundle, out: Path) -> dict:
    from engine.train.events import Finished, Privacy
    from engine.train.loop import train

    eps, noise = None, None
    for ev in train(project, out, bundle=bundle):
        if isinstance(ev, Privacy):
            eps, noise = ev.epsilon, ev.noise
        elif isinstance(ev, Finished):
            return {"accuracy": ev.metrics["accuracy"], "epsilon": eps, "noise": noise}
    raise RuntimeError(f"training did not finish: {ev}")


def _step_ratio(bundle, rounds: int = 7, steps: int = 10) -> float:
    """Private over plain training steps per second (see the module's docstring)."""
    import copy

    import torch
    import torch.nn.functional as F
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    from engine.tasks import task_class
    from engine.train.setup import build_models

    torch.set_num_threads(2)
    model = build_models(_project(None), task_class("classification"), 0,
                         torch.device("cpu"))["model"]
    dp_model = GradSampleModule(copy.deepcopy(model), loss_reduction="mean")
    plain_opt = torch.optim.Adam(model.parameters(), lr=LR)
    dp_opt = DPOptimizer(torch.optim.Adam(dp_model.parameters(), lr=LR_PRIVATE),
                         noise_multiplier=1.0, max_grad_norm=1.0, expected_batch_size=BATCH)
    x, y = bundle.train.x[:BATCH], bundle.train.y[:BATCH]
    warnings.filterwarnings("ignore", message="Full backward hook is firing")

    def timed(m, opt) -> float:
        t = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            F.cross_entropy(m(x), y).backward()
            opt.step()
        return time.perf_counter() - t

    timed(model, plain_opt), timed(dp_model, dp_opt)  # warm up
    return statistics.median(timed(model, plain_opt) / timed(dp_model, dp_opt)
                             for _ in range(rounds))


def run() -> dict[str, float]:
    from engine.data import load_dataset

    bundle = load_dataset(_project(None).dataset)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        plain = _train(_project(None), bundle, Path(tmp) / "plain")
        out["privacy_val_accuracy_nonprivate"] = round(plain["accuracy"], 4)
        private = {}
        for eps in EPSILONS:
            r = _train(_project(eps), bundle, Path(tmp) / f"eps{eps:g}")
            private[eps] = r
            out[f"privacy_val_accuracy_eps{eps:g}"] = round(r["accuracy"], 4)
            out[f"privacy_epsilon_spent_eps{eps:g}"] = round(r["epsilon"], 3)
            out[f"privacy_noise_eps{eps:g}"] = round(r["noise"], 3)
        out["privacy_throughput_ratio"] = round(_step_ratio(bundle), 3)
        out["privacy_bench_s"] = round(time.perf_counter() - t0, 1)
    return out


if __name__ == "__main__":
    for k, v in run().items():
        print(f"{k} = {v}", file=sys.stdout)
