"""Differentially private training: DP-SGD with Opacus, hooked into the run loop
(engine.train.loop) when ``training.privacy.enabled``. See docs/privacy.md.

What changes in a private run, and why:

- batches are drawn by Poisson sampling, as Opacus' ``UniformWithReplacementSampler``
  draws them (each training sample joins each step's batch with probability ``q = 1 /
  steps per epoch``), from the run's data generator, so the existing checkpointing of that
  generator makes a resume draw the same batches;
- each model the task trains is wrapped in a ``GradSampleModule`` for the task only (the
  loop saves the plain models, so weight files keep their keys), and each optimizer in a
  ``DPOptimizer`` that clips every sample's gradient to ``max_grad_norm`` and adds Gaussian
  noise from a seeded generator of its own;
- the noise multiplier comes from the target epsilon, delta (default 1/N), the sample rate
  and the run's steps (``opacus.accountants.utils.get_noise_multiplier``), and the PRV
  accountant, Opacus' default, counts the epsilon spent: a ``Privacy`` event each epoch,
  ``RUN/privacy.json`` at the end;
- the checkpoint holds the accountant's history and the noise generator's state, so a
  killed run resumes to the same weights and the same epsilon.

An empty Poisson batch (rare: probability about e^-batch_size per step) is still a step of
the mechanism: its noise-only update is applied at the next real update (or at the end of
the epoch), after the loop's stop check, so a stop and resume never applies it twice.
"""

from __future__ import annotations

import contextlib
import functools
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.data import DataBundle
from engine.data.core import batch_generator
from engine.errors import UserError
from engine.project import PrivacySpec, Project, atomic_write_bytes
from engine.train.events import Privacy
from engine.train.privacy_check import check_private
from engine.train.privacy_record import PRIVACY_FILE

#: Opacus' default accountant (privacy random variables: tighter than RDP for the same noise)
ACCOUNTANT = "prv"
#: the noise generator's seed is the run's seed plus this (its own stream)
NOISE_SEED_OFFSET = 0x5EED


class PrivacyError(UserError):
    """Private training cannot start with these settings; the message says what to change."""


def noise_multiplier(spec: PrivacySpec, delta: float, sample_rate: float, steps: int) -> float:
    """The noise multiplier whose run of ``steps`` at ``sample_rate`` spends at most the
    target epsilon at ``delta`` (Opacus' search, to 0.01 in epsilon)."""
    from opacus.accountants.utils import get_noise_multiplier

    try:
        with _quiet():
            return float(get_noise_multiplier(
                target_epsilon=spec.epsilon, target_delta=delta, sample_rate=sample_rate,
                steps=steps, accountant=ACCOUNTANT, epsilon_tolerance=0.01))
    except (ValueError, OverflowError) as e:
        raise PrivacyError(f"training.privacy.epsilon: no noise reaches epsilon "
                           f"{spec.epsilon:g} at delta {delta:.3g} over {steps} steps ({e}); "
                           f"raise epsilon or train fewer epochs") from None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Without the accountants' advice to widen their search of orders (a tighter bound is
    not needed: the epsilon reported is an upper bound either way)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Optimal order is the")
        yield


def refuse_modules(project: Project, models: dict[str, nn.Module]) -> None:
    """Refuse, naming the blocks, what Opacus' ModuleValidator reports on the built models
    (the torch-free check found the usual ones already; this catches the rest)."""
    from opacus.utils.module_utils import trainable_modules
    from opacus.validators import ModuleValidator

    from engine.train.freeze import Chains

    chains = Chains(project.graphs)
    bad: list[str] = []
    for gname, model in models.items():
        for name, module in trainable_modules(model):
            validator = ModuleValidator.VALIDATORS.get(type(module))
            if validator is None or not validator(module):
                continue
            chain = chains.chain(gname, name)
            block = ".".join(n.id for n in chain) if chain else name
            bad.append(f"{gname}/{block} ({type(module).__name__})")
    if bad:
        raise PrivacyError(f"private training cannot take {', '.join(bad)}: Opacus gives no "
                           "per-sample gradients for it; replace the block or turn "
                           "training.privacy off")


class Private:
    """The private parts of one run; the loop calls :meth:`batches`, :meth:`event`,
    :meth:`state_dict`, :meth:`load_state_dict` and :meth:`write` (see engine.train.loop)."""

    def __init__(self, spec: PrivacySpec, bundle: DataBundle, steps_per_epoch: int,
                 epochs: int, seed: int, device: torch.device, *, resume: bool = False) -> None:
        self.spec = spec
        self.bundle = bundle
        self.n = len(bundle.train)
        self.spe = steps_per_epoch
        self.epochs = epochs
        self.sample_rate = 1.0 / steps_per_epoch
        self.expected_batch_size = max(1, int(self.n * self.sample_rate))
        self.delta = spec.delta if spec.delta is not None else 1.0 / self.n
        # a resumed run keeps the noise it began with (see load_state_dict)
        self.noise = 0.0 if resume else noise_multiplier(spec, self.delta, self.sample_rate,
                                                         steps_per_epoch * epochs)
        self.noise_gen = torch.Generator(device=device).manual_seed(
            (seed + NOISE_SEED_OFFSET) % 2**63)
        from opacus.accountants import create_accountant

        self.accountant = create_accountant(ACCOUNTANT)
        self.optimizers: list[Any] = []  # PoissonDPOptimizer

    # --- wrapping -------------------------------------------------------------------------
    def wrap(self, task: Any, models: dict[str, nn.Module],
             opts: dict[str, torch.optim.Optimizer]) -> None:
        """Give the task per-sample-gradient models and make ``opts`` DP optimizers (in place;
        ``models``, which the loop saves, stay the plain ones)."""
        from opacus import GradSampleModule

        wrapped: dict[str, nn.Module] = {}
        for name, model in models.items():
            try:
                wrapped[name] = GradSampleModule(model, batch_first=True, loss_reduction="mean")
            except NotImplementedError as e:  # a trainable layer with buffers, say
                raise PrivacyError(f"private training cannot take graph {name!r}: "
                                   f"{str(e).strip()[:300]}") from None
        task.models = wrapped
        hook = self.accountant.get_optimizer_hook_fn(sample_rate=self.sample_rate)
        cls = _dp_optimizer_class()
        for name, opt in list(opts.items()):
            dp = cls(opt, noise_multiplier=self.noise,
                                     max_grad_norm=self.spec.max_grad_norm,
                                     expected_batch_size=self.expected_batch_size,
                                     loss_reduction="mean", generator=self.noise_gen)
            dp.attach_step_hook(hook)
            opts[name] = dp
            self.optimizers.append(dp)

    # --- batches --------------------------------------------------------------------------
    def batches(self, gen: torch.Generator, start: int = 0
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """One epoch of Poisson batches drawn from ``gen`` (the run's data generator, at its
        state when the epoch began), from the ``start``-th non-empty one: the same batches
        after a resume. Empty draws become noise-only steps (see the module's docstring)."""
        from opacus.utils.uniform_sampler import UniformWithReplacementSampler

        split, augment = self.bundle.train, self.bundle.augment
        aug_seed = int(torch.randint(0, 2**62, (1,), generator=gen)) if augment is not None else 0
        sampler = UniformWithReplacementSampler(num_samples=self.n, sample_rate=self.sample_rate,
                                                generator=gen, steps=self.spe)
        seen = 0
        for b, indices in enumerate(sampler):
            if not indices:
                self._pend()
                continue
            if seen < start:  # done before the checkpoint, with the empty draws before it
                seen += 1
                self._forget_pending()
                continue
            seen += 1
            x, y = _gather(split, indices)
            if augment is not None:
                if getattr(augment, "moves_targets", False):
                    x, y = augment.pair(x, y, batch_generator(aug_seed, b))
                else:
                    x = augment(x, batch_generator(aug_seed, b))
            yield x, y
        for opt in self.optimizers:  # empty draws at the epoch's end
            opt.flush()

    def _pend(self) -> None:
        """One more noise-only step to apply before the next update."""
        for opt in self.optimizers:
            opt.pending += 1

    def _forget_pending(self) -> None:
        """The pending noise-only steps were applied before the checkpoint (replaying)."""
        for opt in self.optimizers:
            opt.pending = 0

    # --- figures --------------------------------------------------------------------------
    def steps(self) -> int:
        """The mechanism's steps so far (what the accountant counted)."""
        return sum(int(s) for _, _, s in self.accountant.history)

    def epsilon(self) -> float:
        """The epsilon spent so far at :attr:`delta` (0 before the first step)."""
        if not self.accountant.history:
            return 0.0
        with _quiet():
            return float(self.accountant.get_epsilon(delta=self.delta))

    def event(self, epoch: int) -> Privacy:
        return Privacy(epoch=epoch, step=self.steps(), epsilon=self.epsilon(), delta=self.delta,
                       target=self.spec.epsilon, noise=self.noise,
                       max_grad_norm=self.spec.max_grad_norm)

    def summary(self, epochs: int) -> dict[str, Any]:
        """What ``RUN/privacy.json`` holds (see :func:`read_privacy`)."""
        return {"version": 1, "epsilon": self.epsilon(), "delta": self.delta,
                "target": self.spec.epsilon, "noise": self.noise,
                "max_grad_norm": self.spec.max_grad_norm, "epochs": epochs,
                "sample_rate": self.sample_rate, "accountant": ACCOUNTANT,
                "steps": self.steps(), "expected_batch_size": self.expected_batch_size,
                "samples": self.n}

    def write(self, run_dir: Path, epochs: int) -> None:
        data = json.dumps(self.summary(epochs), indent=2).encode() + b"\n"
        atomic_write_bytes(Path(run_dir) / PRIVACY_FILE, data)

    # --- checkpoint -----------------------------------------------------------------------
    def state_dict(self, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
        tensors["privacy/noise"] = self.noise_gen.get_state()
        return {"history": [list(h) for h in self.accountant.history], "noise": self.noise,
                "sample_rate": self.sample_rate, "delta": self.delta}

    def load_state_dict(self, state: dict[str, Any] | None,
                        tensors: dict[str, torch.Tensor]) -> None:
        """Restore the accountant, the noise generator and the noise the run began with
        (a changed epoch count does not change the noise of a resumed run)."""
        if not state:
            raise PrivacyError("the checkpoint was written without privacy, so the privacy "
                               "already spent is unknown: train from the start, or resume "
                               "with training.privacy off")
        self.accountant.history = [tuple(h) for h in state["history"]]
        self.noise = float(state["noise"])
        self.sample_rate = float(state["sample_rate"])
        self.delta = float(state["delta"])
        self.noise_gen.set_state(tensors["privacy/noise"])
        for opt in self.optimizers:
            opt.noise_multiplier = self.noise


@functools.cache
def _dp_optimizer_class() -> type:
    """The optimizer class (made on first use: Opacus loads lazily)."""
    from opacus.optimizers import DPOptimizer

    class PoissonDPOptimizer(DPOptimizer):
        """A DPOptimizer that applies the noise-only steps of empty Poisson batches
        (``pending``) just before its next real step, or at :meth:`flush`."""

        pending = 0

        def step(self, closure=None):
            self.flush()
            return super().step(closure)

        def flush(self) -> None:
            while self.pending > 0:
                self.pending -= 1
                self._noise_only()

        def _noise_only(self) -> None:
            kept = [(p.grad_sample, p.grad) for p in self.params]
            for p in self.params:
                p.grad_sample = p.new_zeros((0, *p.shape))
                p.summed_grad = None
            super().step()  # clip nothing, add the noise, count the step, update
            for p, (sample, grad) in zip(self.params, kept, strict=True):
                p.grad_sample, p.grad, p.summed_grad = sample, grad, None

    return PoissonDPOptimizer


def _gather(split: Any, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The samples at ``indices`` of an in-memory or streaming split."""
    if getattr(split, "streaming", False):
        from torch.utils.data import default_collate

        xb, yb = default_collate([split.dataset[i] for i in indices])
        if split.prepare is not None:
            xb = split.prepare(xb)
        return xb, yb
    index = torch.tensor(indices, dtype=torch.long, device=split.x.device)
    return split.x.index_select(0, index), (None if split.y is None
                                            else split.y.index_select(0, index))


def attach(run: Any) -> Private | None:
    """The private parts of ``run`` (an engine.train.loop._Run after its optimizers and
    block meter are built), or None when privacy is off. Refuses, with a sentence, what
    private training cannot take; turns off what would leak un-noised gradients (block
    statistics) or does not work with per-sample gradients (mixed precision)."""
    project, cfg = run.project, run.cfg
    spec = cfg.privacy
    if not spec.enabled:
        return None
    errors = [f for f in check_private(project) if f.severity == "error"]
    if errors:
        lines = "\n".join(f"  {f.graph}{'/' + f.node if f.node else ''}: {f.message}"
                          for f in errors)
        raise PrivacyError("private training (training.privacy) cannot start:\n" + lines)
    if run.ddp is not None:
        raise PrivacyError("private training runs on one device: train with one process "
                           "(training.gpus 1)")
    if len(run.bundle.train) < 2:
        raise PrivacyError("private training needs at least 2 training samples")
    refuse_modules(project, run.models)
    # Opacus' hooks on a first block whose input needs no gradient (an Embedding, say)
    warnings.filterwarnings("ignore", message="Full backward hook is firing when gradients")
    run.meter = None  # block statistics read the un-noised gradients: not in a private run
    run.scaler = None  # per-sample gradients in float32: no loss scaling, no autocast
    run.task.autocast = contextlib.nullcontext
    run.amp_name = "off"
    run.apply = run._apply_plain
    private = Private(spec, run.bundle, run.spe, cfg.epochs, cfg.seed, run.device,
                      resume=run.resume)
    private.wrap(run.task, run.models, run.opts)
    return private
