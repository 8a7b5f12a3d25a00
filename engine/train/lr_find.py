"""The learning-rate finder: train a fresh copy of the model for a few hundred steps while
the learning rate grows exponentially, record the loss, and suggest a rate.

The model, data, task, loss and optimizer kind are built by the same helpers a run uses
(:mod:`engine.train.setup`, :mod:`engine.train.init`, :mod:`engine.train.freeze`), so the
curve is the one training would see at its start. Nothing is written: no run folder, and
the project passed in is not modified (the models are fresh copies built from it).

How the suggestion is chosen (see :func:`suggest`): the middle of the curve's valley, on the
log scale, between two landmarks of the smoothed loss: the rate where it falls fastest
(the *steepest descent*, a rate that learns but is cautious) and the rate where it is
lowest (beyond it a larger rate stops helping: the edge of stability). Their geometric mean
learns nearly as fast as the edge while keeping a margin from it. Each landmark alone
lands at one end of the range of good rates ("the minimum divided by ten" lands below it):
on the spirals MLP a grid search over the same epochs finds a plateau of good rates from
about 0.03 to 0.1, the steepest descent sits at its lower edge (0.033-0.039 over four
seeds), the minimum at or above its upper edge (0.07-0.12), and the middle inside it
(0.048-0.064); tests/engine/train/test_lr_find.py checks it against the grid.

Torch is imported inside :func:`lr_find` only, so the result type and :func:`suggest` can
be used without it (the app's GUI thread reads the result).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.errors import UserError
from engine.project import Project

#: the exponential moving average of the loss: weight of the past
SMOOTHING = 0.98
#: the ramp stops once the smoothed loss exceeds this many times its best value
DIVERGE_FACTOR = 4.0
#: points at the start of the curve left out of the suggestion (the average is settling)
SKIP_START = 10
#: below this relative fall of the smoothed loss the curve counts as flat
FLAT_FALL = 0.05
MIN_STEPS, MAX_STEPS = 20, 100_000

#: progress(step, steps, lr, smoothed_loss), after each step (1-based step)
Progress = Callable[[int, int, float, float], None]


class LRFindError(UserError):
    """The finder cannot run on this project or with these settings."""


@dataclass
class LRFindResult:
    """The ramp's record: ``lrs[i]`` is the rate of step ``i``, ``losses[i]`` the smoothed
    loss after it (``raw_losses[i]`` the batch's own). ``suggestion`` is None when the
    curve gives none, and then ``message`` says why; otherwise ``message`` says how it
    ended (ran to the end, or stopped when the loss diverged)."""

    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    raw_losses: list[float] = field(default_factory=list)
    suggestion: float | None = None
    message: str = ""

    def to_json(self) -> dict:
        return {"lrs": self.lrs, "losses": self.losses, "raw_losses": self.raw_losses,
                "suggestion": self.suggestion, "message": self.message}


def ramp(start: float, end: float, steps: int) -> list[float]:
    """``steps`` rates growing exponentially from ``start`` to ``end`` (both included)."""
    ratio = end / start
    return [start * ratio ** (i / (steps - 1)) for i in range(steps)]


def smooth(raw: list[float], beta: float = SMOOTHING) -> list[float]:
    """The exponential moving average of ``raw`` with bias correction (the first values
    are not pulled towards zero)."""
    out, avg = [], 0.0
    for i, v in enumerate(raw):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def suggest(lrs: list[float], losses: list[float]) -> tuple[float | None, str]:
    """The suggested rate for the smoothed ``losses`` at ``lrs``, and ""; or None and a
    sentence saying why there is none.

    The suggestion is the geometric mean of the rate of steepest descent (the most
    negative slope of the loss against log(lr)) and the rate of the lowest loss (see the
    module's docstring for why). The first :data:`SKIP_START` points are left out (the
    moving average is still settling there), and the steepest descent is looked for
    before the minimum only (after it the loss rises towards divergence). A curve whose
    minimum is less than :data:`FLAT_FALL` below where it started is flat: no rate is
    better than another."""
    finite = [(lr, v) for lr, v in zip(lrs, losses, strict=True) if math.isfinite(v)]
    if len(finite) < SKIP_START + 5:
        last = finite[-1][0] if finite else lrs[0]
        return None, (f"The loss diverged after {len(finite)} steps, already at a learning "
                      f"rate of {last:.3g}: start the ramp lower.")
    lr_s, loss_s = zip(*finite, strict=True)
    low = min(range(len(loss_s)), key=loss_s.__getitem__)
    begin = loss_s[min(SKIP_START, low)]
    if (begin - loss_s[low]) / max(abs(begin), 1e-12) < FLAT_FALL:
        return None, (f"The loss hardly fell between {lr_s[0]:.3g} and {lr_s[-1]:.3g} (less "
                      f"than {FLAT_FALL:.0%}), so no rate stands out: widen the range, or "
                      f"check that the model can learn this data.")
    if low <= SKIP_START + 1:
        return None, (f"The loss was lowest at the start of the ramp ({lr_s[low]:.3g}): "
                      f"start the ramp lower.")
    logs = [math.log10(v) for v in lr_s]
    # the slope at each point from its neighbours (central differences)
    slopes = [(loss_s[i + 1] - loss_s[i - 1]) / (logs[i + 1] - logs[i - 1])
              for i in range(SKIP_START, low)]
    steep = SKIP_START + min(range(len(slopes)), key=slopes.__getitem__)
    return math.sqrt(lr_s[steep] * lr_s[low]), ""


def check_range(steps: int, start: float, end: float) -> None:
    """Refuse settings the ramp cannot use, naming the setting."""
    if not MIN_STEPS <= steps <= MAX_STEPS:
        raise LRFindError(f"steps {steps}: use {MIN_STEPS} to {MAX_STEPS:,} steps (a few "
                          f"hundred give a clear curve)")
    if not (math.isfinite(start) and math.isfinite(end) and 0 < start < end):
        raise LRFindError(f"the ramp from {start:g} to {end:g}: the start must be above 0 "
                          f"and below the end, e.g. from 1e-7 to 1")


def lr_find(project: Project, *, steps: int = 200, start: float = 1e-7, end: float = 1.0,
            progress: Progress | None = None,
            should_stop: Callable[[], bool] | None = None) -> LRFindResult:
    """Ramp the learning rate exponentially from ``start`` to ``end`` over ``steps``
    optimizer steps on a fresh copy of ``project``'s model (initialised as training
    initialises it, on its data with its task, loss and optimizer), and return the loss
    curve and a suggested rate. Stops early when the smoothed loss exceeds
    :data:`DIVERGE_FACTOR` times its best, or becomes NaN; ``should_stop()`` True stops
    it too (then no rate is suggested). The project and every run folder are left as
    they were. Raises :class:`UserError` with a sentence when the project cannot train,
    and :class:`LRFindError` for a task with more than one optimizer (a GAN).

    Dataset paths in ``project`` must be absolute (see
    :func:`engine.train.prepare.absolute_data`)."""
    import torch

    from engine.train.runtime import resolve_threads

    check_range(steps, start, end)
    threads = torch.get_num_threads()  # process-wide: given back afterwards (the app)
    torch.set_num_threads(resolve_threads(project.training.threads))
    try:
        return _ramp(_Session(project, start), ramp(start, end, steps), progress, should_stop)
    finally:
        torch.set_num_threads(threads)


def _ramp(session: _Session, rates: list[float], progress: Progress | None,
          should_stop: Callable[[], bool] | None) -> LRFindResult:
    steps, start, end = len(rates), rates[0], rates[-1]
    raw: list[float] = []
    smoothed: list[float] = []
    ema, best = 0.0, math.inf
    stopped = diverged = False
    for i, (lr, loss) in enumerate(session.losses(rates)):
        if not math.isfinite(loss):
            diverged = True
            break
        raw.append(loss)
        ema = SMOOTHING * ema + (1 - SMOOTHING) * loss  # as smooth() does, one step at a time
        avg = ema / (1 - SMOOTHING ** len(raw))
        smoothed.append(avg)
        best = min(best, avg)
        if progress is not None:
            progress(i + 1, steps, lr, avg)
        if avg > DIVERGE_FACTOR * best:
            diverged = True
            break
        if should_stop is not None and should_stop():
            stopped = True
            break
    lrs = rates[:len(raw)]
    if stopped:
        return LRFindResult(lrs, smoothed, raw, None, (
            f"Stopped after {len(raw)} of {steps} steps, before the ramp finished: no rate "
            f"is suggested."))
    suggestion, why = suggest(lrs, smoothed)
    if why:
        return LRFindResult(lrs, smoothed, raw, None, why)
    end_text = (f"the loss diverged at {lrs[-1]:.3g} after {len(raw)} steps" if diverged
                else f"{len(raw)} steps from {start:g} to {end:g}")
    return LRFindResult(lrs, smoothed, raw, suggestion,
                        f"Suggested learning rate {suggestion:.3g}, between where the loss "
                        f"fell fastest and where it was lowest ({end_text}).")


class _Session:
    """The models, data, task and optimizer of a run, built the way a run builds them,
    stepping once per rate with that rate."""

    def __init__(self, project: Project, lr: float) -> None:
        import torch
        from torch import nn

        from engine.data import load_dataset
        from engine.tasks import task_class
        from engine.train.freeze import FineTune
        from engine.train.init import initialise
        from engine.train.runtime import (
            autocast_factory,
            make_scaler,
            resolve_device,
            seed_everything,
        )
        from engine.train.setup import build_models, build_optimizers, check_project

        cfg = project.training.model_copy(update={"lr": lr})
        kind = project.task.kind
        # the ramp runs here: a project training on a remote host uses this machine's best
        self.cfg = cfg
        self.device = resolve_device("auto" if cfg.device.startswith("remote:") else cfg.device)
        seed_everything(cfg.seed)
        self.bundle = load_dataset(project.dataset)
        list(check_project(project, self.bundle))  # errors raise; warnings are the run's
        self.bundle.to(self.device)
        self.models = build_models(project, task_class(kind), cfg.seed, self.device)
        initialise(project, self.models)
        self.tune = FineTune(project, self.models)
        self.tune.start()
        autocast, _name = autocast_factory(self.device, cfg.amp)
        self.task = task_class(kind)(project.task, self.bundle, self.models, self.device,
                                     autocast, cfg.seed)
        if len(self.task.optimizers()) > 1:
            names = " and ".join(self.task.optimizers())
            raise LRFindError(f"the learning-rate finder works on a model trained by one "
                              f"optimizer; a {kind} project trains two ({names}), whose "
                              f"losses pull against each other, so one ramp cannot find "
                              f"their rate: tune training.lr with a sweep instead")
        self.opts, self.params = build_optimizers(cfg, self.task, self.models, self.tune,
                                                  self.device)
        self.scaler = make_scaler(self.device)
        n = len(self.bundle.train)
        self.drop_last = n % cfg.batch_size == 1 and n > 1 and any(
            isinstance(m, nn.modules.batchnorm._BatchNorm)
            for model in self.models.values() for m in model.modules())
        self.generator = torch.Generator().manual_seed(cfg.seed)

    def losses(self, rates: list[float]):
        """Yield (rate, the batch's loss) for each rate, one optimizer step each, going
        through the training data epoch after epoch as a run does."""
        from engine.data import iter_batches

        (opt,) = self.opts.values()
        done = 0
        while done < len(rates):
            for m in self.models.values():
                m.train()
            self.tune.hold_norms()
            for x, y in iter_batches(self.bundle.train, self.cfg.batch_size, shuffle=True,
                                     generator=self.generator, augment=self.bundle.augment,
                                     drop_last=self.drop_last):
                lr = rates[done]
                for group in opt.param_groups:
                    group["lr"] = lr * group.get("lr_mult", 1.0)
                figures = self.task.train_step(x, y, self._apply)
                yield lr, float(figures["loss"])
                done += 1
                if done == len(rates):
                    return

    def _apply(self, name: str, loss) -> None:
        """Backward, clip and update, as a run's step does; a non-finite loss is not
        applied (the ramp ends on it)."""
        from torch import nn

        if not math.isfinite(float(loss.detach())):
            return
        opt, clip = self.opts[name], self.cfg.grad_clip
        opt.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            if clip > 0:
                nn.utils.clip_grad_norm_(self.params[name], clip)
            opt.step()
            return
        self.scaler.scale(loss).backward()
        if clip > 0:
            self.scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(self.params[name], clip)
        self.scaler.step(opt)
        self.scaler.update()
