"""The run loop: a generator of events. See :func:`train`."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.data import DataBundle, iter_batches, load_dataset, num_batches
from engine.errors import UserError
from engine.project import Project
from engine.tasks import Task, task_class
from engine.train import checkpoint as ckpt
from engine.train import distributed, privacy, resume_state, runlock
from engine.train.control import Control
from engine.train.events import (
    CheckpointWritten,
    EpochEnded,
    Event,
    Failed,
    Finished,
    Paused,
    Progress,
    Resumed,
    RunStarted,
    Status,
    Stopped,
    Unfrozen,
    Warning,
)
from engine.train.figures import Throttle, TrainFigures
from engine.train.freeze import FineTune
from engine.train.init import initialise, pretrained_sources, write_reports
from engine.train.nonfinite import NonFiniteLoss, nonfinite_origin, origin_sentence
from engine.train.optim import EpochLR
from engine.train.rundir import RunDir, data_info, flat_metrics, saved_tokenizers
from engine.train.runtime import (
    autocast_factory,
    make_scaler,
    resolve_device,
    resolve_threads,
    seed_everything,
)
from engine.train.schedule import LRSchedule
from engine.train.setup import (
    build_models,
    build_optimizers,
    check_project,
    sample_event,
)
from engine.train.stats import BlockMeter


def train(project: Project, run_dir: str | Path, *, resume: bool = False,
          control: Control | None = None, progress_interval: float = 0.05,
          bundle: DataBundle | None = None) -> Iterator[Event]:
    """Train ``project``, writing into ``run_dir``; yield events until a terminal one
    (Finished, Stopped or Failed). With ``resume`` the run continues from
    ``run_dir/checkpoints/last.safetensors`` exactly. Never raises for user problems:
    they become a Failed event with a sentence for the user.

    The run folder is locked for as long as the generator runs: while another process
    writes ``run_dir`` the only event is a Failed naming that process, and nothing is
    written (see :mod:`engine.train.runlock`)."""
    try:
        key = runlock.acquire(run_dir)
    except UserError as e:
        yield Failed(message=str(e))
        return
    try:
        yield from _train(_Run(project, RunDir(run_dir), resume, control or Control(),
                               progress_interval), bundle)
    finally:
        runlock.release(key)


def _train(run: _Run, bundle: DataBundle | None) -> Iterator[Event]:
    try:
        yield from run.setup(bundle)
        yield from run.epochs()
    except UserError as e:
        yield Failed(message=str(e))
    except torch.OutOfMemoryError as e:
        yield Failed(message="The device ran out of memory: lower the batch size or make the "
                     "model smaller.", detail=str(e)[:2000])
    except Exception as e:  # the worker must always end with a terminal event
        import traceback
        yield Failed(message=f"Training failed: {type(e).__name__}: {e}",
                     detail=traceback.format_exc()[-4000:])


class _Run:
    def __init__(self, project: Project, run: RunDir, resume: bool, control: Control,
                 interval: float) -> None:
        self.project, self.run, self.resume, self.control = project, run, resume, control
        self.cfg = project.training
        self.throttle = Throttle(interval)
        self.epoch = 0  # epochs completed
        self.position = 0  # batches done in the current epoch
        self.step = 0  # global steps done
        self.history: list[dict[str, Any]] = []
        self.ended: EpochEnded | None = None  # the last epoch's end (kept in checkpoints)
        self.unsaid: list[Event] = []  # on resume: that end, when events.jsonl missed it
        self.figures = TrainFigures()  # the epoch's train figures
        self.meter: BlockMeter | None = None  # block statistics (training.stats_every)
        self.best_value: float | None = None
        self.best_epoch = 0
        self.bad_epochs = 0
        self.last_val: dict[str, Any] = {}
        self.min_loss = math.inf
        self.diverge_warned = False
        self.initial_loss: float | None = None

    # --- setup --------------------------------------------------------------------------
    def setup(self, bundle: DataBundle | None) -> Iterator[Event]:
        cfg = self.cfg
        self.device = resolve_device(cfg.device)
        self.threads = resolve_threads(cfg.threads)
        torch.set_num_threads(self.threads)
        if self.device.type == "cpu":
            torch.use_deterministic_algorithms(True, warn_only=True)
            # deterministic mode also fills every new tensor with NaN to expose reads of
            # uninitialised memory (a debugging aid): 1-3% of a CPU step, no effect on results
            torch.utils.deterministic.fill_uninitialized_memory = False
        seed_everything(cfg.seed)
        self.t0 = time.perf_counter()
        # a resumed run keeps the tokenizer its first part trained on the data
        self.bundle = bundle or load_dataset(
            self.project.dataset, tokenizers=saved_tokenizers(self.run) if self.resume else None)
        yield from check_project(self.project, self.bundle)
        self.bundle.to(self.device)
        self.models = build_models(self.project, task_class(self.project.task.kind), cfg.seed,
                                   self.device)
        # weights from elsewhere (a pretrained backbone, training.init_from): a fresh start
        # only, and before the run folder exists, so a bad file leaves nothing behind
        if not self.resume:
            used = pretrained_sources(self.project, self.models)
            if used:
                yield Status(state="loading", text=f"Loading the pretrained weights of "
                             f"{', '.join(used)} (fetched once, then from the cache)")
        reports = [] if self.resume else initialise(self.project, self.models)
        self.tune = FineTune(self.project, self.models)
        self.tune.start()
        self.autocast, self.amp_name = autocast_factory(self.device, cfg.amp)
        self.task: Task = task_class(self.project.task.kind)(
            self.project.task, self.bundle, self.models, self.device, self.autocast, cfg.seed)
        self.opts, self.params = build_optimizers(cfg, self.task, self.models, self.tune,
                                                  self.device)
        self.ddp = distributed.current()  # under torchrun: DDP models, sharded batches
        if self.ddp is not None:
            self.ddp.wrap(self.task, self.device)
        self.scaler = make_scaler(self.device)
        # the step function the task calls: in one call where no scaler and no clipping
        self.apply = self._apply_plain if self.scaler is None and cfg.grad_clip <= 0 else self._apply
        # block statistics: measured by rank 0 only (the others' events are not recorded)
        if cfg.stats_every > 0 and (self.ddp is None or self.ddp.rank == 0):
            self.meter = BlockMeter(self.models, self.task.optimizers(), cfg.stats_every)
        # A BatchNorm cannot train on one sample (PyTorch raises mid-epoch): an epoch whose
        # last batch would hold one sample drops it (a batch size of 1 is refused earlier).
        n_train = len(self.bundle.train)
        self.drop_last = n_train % cfg.batch_size == 1 and n_train > 1 and any(
            isinstance(m, nn.modules.batchnorm._BatchNorm)
            for model in self.models.values() for m in model.modules())
        self.spe = num_batches(n_train, cfg.batch_size, self.drop_last)
        self.total = self.spe * cfg.epochs
        self.private = privacy.attach(self)  # DP-SGD (training.privacy), or None
        self.schedule = LRSchedule(cfg, self.spe, self.total)
        self.monitor = cfg.monitor if cfg.monitor.startswith(("val_", "train_")) else f"val_{cfg.monitor}"
        self.data_gen = torch.Generator().manual_seed(cfg.seed)
        self.run.create()
        resumed_from = 0
        if self.resume:
            resumed_from = resume_state.restore(self)
        self.run.write_snapshot(self.project)
        if reports:
            write_reports(self.run.path, reports)
        # how inputs were prepared (normalisation, classes): every export carries it
        self.data_info = data_info(self.bundle, self.project.dataset)
        self.run.write_data_info(self.data_info)
        trainable, n_params = self.tune.counts()
        config = cfg.model_dump(mode="json") | {"device": str(self.device), "threads": self.threads,
                                                "amp": self.amp_name, "task": self.project.task.kind,
                                                "trainable_parameters": trainable}
        yield RunStarted(run_dir=str(self.run.path), config=config, device=str(self.device),
                         threads=self.threads, parameters=n_params, dataset=self.bundle.describe(),
                         task=self.project.task.kind, total_steps=self.total,
                         steps_per_epoch=self.spe, resumed_from=resumed_from,
                         trainable_parameters=trainable)
        for report in reports:
            yield report.to_event()
        yield from self.unsaid  # the checkpoint's epoch end that events.jsonl missed

    # --- the epochs ---------------------------------------------------------------------
    def epochs(self) -> Iterator[Event]:
        cfg = self.cfg
        session_t0, session_first = time.perf_counter(), self.step
        win_t = time.perf_counter()
        control, meter, figures, ddp = self.control, self.meter, self.figures, self.ddp
        train_step, apply = self.task.train_step, self.apply
        keep = figures.window.append  # a step's figures are only kept (see TrainFigures)
        early = False
        while self.epoch < cfg.epochs:
            epoch_t0 = time.perf_counter()
            if self.tune.due(self.epoch + 1):
                yield self._unfreeze()
            self.epoch_gen_state = self.data_gen.get_state()
            batches = self.private.batches(self.data_gen, self.position) if self.private \
                else iter_batches(self.bundle.train, cfg.batch_size, shuffle=True,
                                  generator=self.data_gen, start=self.position,
                                  augment=self.bundle.augment, drop_last=self.drop_last)
            for m in self.models.values():
                m.train()
            self.tune.hold_norms()  # batch norms of frozen blocks keep their statistics
            if self.position == 0:
                figures.start_epoch()
            # after unfreezing: the groups of this epoch are final
            rates = EpochLR(self.schedule, self.opts.values(), self.step, self.spe - self.position)
            for x, y in batches:
                if not control.idle:  # a plain attribute: stop/pause asked (see Control)
                    todo = control.poll()
                    if todo == "pause":  # said before waiting: the UI follows this event
                        yield Paused(epoch=self.epoch + 1, step=self.step)
                        todo = control.wait_resumed()
                        if todo == "go":
                            yield Resumed(epoch=self.epoch + 1, step=self.step)
                    if todo == "stop":
                        yield from self._stop()
                        return
                if ddp is not None:
                    x, y = ddp.shard(x, y)
                lr = rates.apply(self.step)
                measured = meter if meter is not None and meter.due(self.step + 1) else None
                try:
                    if measured is not None:
                        keep((self._measured_step(measured, x, y), x.shape[0]))
                    else:
                        keep((train_step(x, y, apply), x.shape[0]))
                except NonFiniteLoss as e:
                    yield from self._nan(e.what, lr, x, y)
                    return
                self.step += 1
                self.position += 1
                if measured is not None:
                    yield measured.finish(self.epoch + 1, self.step)
                if self.throttle.ready() or self.position == self.spe:
                    now = time.perf_counter()
                    losses, samples = figures.losses(), figures.samples()
                    figures.fold()
                    rate = samples / max(now - win_t, 1e-9)
                    per_step = (now - session_t0) / (self.step - session_first)
                    yield Progress(epoch=self.epoch + 1, step=self.step, total_steps=self.total,
                                   loss=losses[-1], losses=losses, lr=lr, samples_per_s=rate,
                                   eta_s=per_step * (self.total - self.step))
                    win_t = now
                    bad = [v for v in losses if not math.isfinite(v)]
                    if bad:  # on CUDA the scaler already skipped the update
                        yield from self._nan("loss", lr, x, y)
                        return
                    yield from self._divergence(losses)
            self.epoch += 1
            self.position = 0
            self.epoch_gen_state = self.data_gen.get_state()  # where the next epoch starts
            early = yield from self._epoch_end(time.perf_counter() - epoch_t0)
            if early:
                break
        yield from self._finish(early)

    def _unfreeze(self) -> Unfrozen:
        """Phase 2: the chosen frozen blocks join the training as new param groups (a
        data-parallel run wraps its models again, so their gradients are averaged too)."""
        self.tune.unfreeze(self.opts, self.task.optimizers(), self.cfg.lr)
        if self.ddp is not None:
            self.task.models = dict(self.models)
            self.ddp.wrap(self.task, self.device)
        return Unfrozen(epoch=self.epoch + 1, blocks=list(self.tune.later_blocks),
                        trainable_parameters=self.tune.counts()[0])

    def _apply(self, name: str, loss: torch.Tensor) -> None:
        """Backward, clip and update optimizer ``name``. On CPU the loss is checked first
        (a host check costs nothing there), so a NaN never reaches the weights."""
        self._backward(name, loss)
        self._update(name)

    def _apply_plain(self, name: str, loss: torch.Tensor) -> None:
        """:meth:`_apply` without a scaler or clipping (CPU), in one call: the same
        operations, for less Python per step (it shows on a small model)."""
        if not math.isfinite(loss.item()):
            raise NonFiniteLoss(f"{name} loss" if len(self.opts) > 1 else "loss")
        opt = self.opts[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def _backward(self, name: str, loss: torch.Tensor) -> None:
        scaler = self.scaler
        # CPU only (no scaler): reading a CPU scalar is no device sync, and cheaper than isfinite
        if scaler is None and not math.isfinite(loss.item()):
            raise NonFiniteLoss(f"{name} loss" if len(self.opts) > 1 else "loss")
        self.opts[name].zero_grad(set_to_none=True)
        (loss if scaler is None else scaler.scale(loss)).backward()

    def _update(self, name: str) -> None:
        opt, scaler, clip = self.opts[name], self.scaler, self.cfg.grad_clip
        if scaler is None:
            if clip > 0:
                norm = nn.utils.clip_grad_norm_(self.params[name], clip)
                if not bool(torch.isfinite(norm)):
                    raise NonFiniteLoss("gradient")
            opt.step()
            return
        if clip > 0:
            scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(self.params[name], clip)
        scaler.step(opt)
        scaler.update()

    def _measured_step(self, meter: BlockMeter, x: torch.Tensor, y: torch.Tensor | None
                       ) -> dict[str, Any]:
        """One training step with the block meter's hooks on (see engine.train.stats);
        the same computation as an unmeasured step, so the weights come out the same."""
        scaler = self.scaler

        def apply(name: str, loss: torch.Tensor) -> None:
            meter.backward(name)
            self._backward(name, loss)
            meter.gradients(name)
            meter.before_update(name)
            self._update(name)
            meter.updated(name)

        meter.start(scaler.get_scale if scaler is not None else None)
        try:
            return self.task.train_step(x, y, apply)
        except BaseException:
            meter.detach()
            raise

    def _divergence(self, losses: list[float]) -> Iterator[Event]:
        if self.initial_loss is None:
            self.initial_loss = sum(losses) / len(losses)
        self.min_loss = min(self.min_loss, *losses)
        worst = max(losses)
        # a loss far above where training started (not a spike near zero) means divergence
        if (not self.diverge_warned and self.step > self.spe and worst > 2 * self.initial_loss
                and worst > 100 * max(self.min_loss, 1e-3)):
            self.diverge_warned = True
            yield Warning(kind="divergence", message=f"The loss jumped to {max(losses):.4g} "
                          f"(it was as low as {self.min_loss:.4g}): the learning rate "
                          f"({self.cfg.lr:g}) may be too high.")

    def _epoch_end(self, seconds: float) -> Iterator[Event]:
        train = self.figures.means()
        eval_bs = max(self.cfg.batch_size, 256)
        val = self.task.evaluate(self.bundle.val, eval_bs) if len(self.bundle.val) else {}
        self.last_val = val
        lr = self.schedule.lr_at(max(0, self.step - 1))
        mode = self.task.mode(self.monitor)
        value = self._monitored(train, val)
        self.schedule.epoch_end(value, mode)
        improved = value is not None and (self.best_value is None or (
            value < self.best_value if mode == "min" else value > self.best_value))
        if improved:
            self.best_value, self.best_epoch, self.bad_epochs = value, self.epoch, 0
        else:
            self.bad_epochs += 1
        self.ended = EpochEnded(epoch=self.epoch, train=train, val=val, lr=lr, seconds=seconds)
        events: list[Event] = [self.ended]
        if self.private is not None:
            events.append(self.private.event(self.epoch))
        sample = self.task.sample(self.epoch)
        if sample is not None:
            events.append(sample_event(sample, self.epoch))
        self.history.append({"epoch": self.epoch, "lr": lr, "seconds": round(seconds, 4),
                             **flat_metrics("train", train), **flat_metrics("val", val)})
        self.run.write_metrics(self.history)
        last = self.epoch == self.cfg.epochs
        early = self.cfg.early_stopping and self.bad_epochs >= self.cfg.patience
        # The checkpoint before the epoch's events: killed after the events, a run resumes
        # after this epoch and never trains it twice; killed between the two, the resume
        # says this epoch's end itself (the checkpoint holds it, see _restore_state).
        if self.epoch % self.cfg.checkpoint_every == 0 or last or early:
            path = resume_state.write_checkpoint(self, "last")
            events.append(CheckpointWritten(path=str(path), kind="last", epoch=self.epoch,
                                            step=self.step))
        yield from events
        if improved:
            path = resume_state.write_checkpoint(self, "best")
            yield CheckpointWritten(path=str(path), kind="best", epoch=self.epoch, step=self.step)
        return early

    def _monitored(self, train: dict[str, float], val: dict[str, Any]) -> float | None:
        src, _, name = self.monitor.partition("_")
        v = (val if src == "val" else train).get(name)
        return float(v) if isinstance(v, int | float) else None

    def _finish(self, early: bool) -> Iterator[Event]:
        self._write_weights()
        results: dict[str, Any] = {"val": self.last_val}
        if self.bundle.test is not None and len(self.bundle.test):
            results["test"] = self.task.evaluate(self.bundle.test, max(self.cfg.batch_size, 256))
        self.run.write_evaluation(results)
        yield Finished(metrics=self.last_val, best_epoch=self.best_epoch, best_value=self.best_value,
                       monitor=self.monitor, epochs=self.epoch, early_stopped=early,
                       seconds=time.perf_counter() - self.t0)

    def _stop(self) -> Iterator[Event]:
        path = resume_state.write_checkpoint(self, "last")
        self._write_weights()
        yield CheckpointWritten(path=str(path), kind="stop", epoch=self.epoch, step=self.step)
        yield Stopped(epoch=self.epoch + (1 if self.position else 0), step=self.step,
                      checkpoint=str(path))

    def _nan(self, what: str, lr: float, x: torch.Tensor, y: torch.Tensor | None
             ) -> Iterator[Event]:
        """Stop on a non-finite loss or gradient, naming the block where it first appeared
        (the batch re-run with hooks: the weights are still the last good ones)."""
        where = f"epoch {self.epoch + 1}, step {self.step + 1}"
        origin = nonfinite_origin(self.task, self.models, x, y)
        said = origin_sentence(self.project, origin)
        yield Warning(kind="nan", message=f"The {what} became NaN or infinite at {where}{said}.",
                      block=origin[0] if origin else "")
        self._write_weights()
        kept = self.run.checkpoint("last")
        tail = (f"the last good checkpoint ({kept}) is kept" if kept.is_file()
                else "no checkpoint had been written yet")
        yield Failed(message=f"Training stopped: the {what} became NaN or infinite at {where}"
                     f"{said}. The update was not applied, so the weights are unchanged; "
                     f"{tail}. Lower the learning rate (now {lr:g}) or turn on gradient "
                     f"clipping.")

    # --- state ----------------------------------------------------------------------------
    def _write_weights(self) -> None:
        tensors: dict[str, torch.Tensor] = {}
        ckpt.model_tensors(self.models, tensors)
        ckpt.write(self.run.weights, tensors, {"graphs": list(self.models), "epoch": self.epoch,
                                               "step": self.step, "data": self.data_info})
        if self.private is not None:  # privacy.json: what these weights have spent
            self.private.write(self.run.path, self.epoch)
