"""The data an int8 export measures with: calibration samples from the run's training
split and a bounded slice of its validation split, prepared exactly as training prepared
them (the loader's normalisation and the run's own tokenizers), as numpy arrays for
onnxruntime.

Calibration decides every activation's int8 range, so it must see what the model saw in
training: the training split, never the validation split the comparison is measured on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.export.common import ExportError, Source

#: samples per onnxruntime call while calibrating (memory stays bounded, see quantize.py)
CALIBRATION_BATCH = 32
#: the comparison's metric is computed on at most this many validation samples...
COMPARISON_SAMPLES = 2000
#: ...and each per-block sensitivity on at most this many (one quantization per block)
SENSITIVITY_SAMPLES = 500


@dataclass
class EvalSet:
    """Inputs and targets of validation samples, in the split's order."""

    x: np.ndarray
    y: np.ndarray
    split: str  # "validation" (or "test" when the run has no validation split)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def head(self, n: int) -> EvalSet:
        """The first ``n`` samples."""
        return EvalSet(self.x[:n], self.y[:n], self.split)


def load_bundle(src: Source):
    """The run's data set, loaded as training loaded it. ExportError when the source is
    not a trained run or its data cannot be loaded."""
    if not src.trained:
        raise ExportError(f"{src.origin}: an int8 export needs a trained run and its data "
                          "(calibration samples come from the training split); this is a "
                          "project file. Train it, then export the run folder.")
    from engine.data import DataError, load_dataset
    from engine.train.rundir import RunDir, saved_tokenizers

    try:
        # the tokenizer the run trained with, not one trained again on today's files
        bundle = load_dataset(src.project.dataset,
                              tokenizers=saved_tokenizers(RunDir(src.origin)))
    except DataError as e:
        raise ExportError(f"{src.origin}: an int8 export needs the run's data to calibrate "
                          f"and to measure the int8 model, and it cannot be loaded: {e}"
                          ) from None
    return bundle


def calibration_feeds(bundle, input_name: str, count: int, seed: int) -> list[dict[str, np.ndarray]]:
    """``count`` training samples (fewer when the split is smaller), drawn with ``seed``
    (the same samples every time), as onnxruntime feeds of at most CALIBRATION_BATCH
    samples each."""
    import torch

    from engine.data import iter_batches

    if len(bundle.train) == 0:
        raise ExportError("the run's training split is empty: there is nothing to calibrate "
                          "the int8 ranges with")
    gen = torch.Generator().manual_seed(seed)
    feeds: list[dict[str, np.ndarray]] = []
    taken = 0
    batches = iter_batches(bundle.train, CALIBRATION_BATCH, shuffle=True, generator=gen)
    for x, _ in batches:
        x = x[: count - taken]
        feeds.append({input_name: _numpy(x)})
        taken += int(x.shape[0])
        if taken >= count:
            break
    close = getattr(batches, "close", None)
    if close is not None:
        close()  # a streaming split's DataLoader workers stop here
    return feeds


def evaluation_set(bundle, limit: int = COMPARISON_SAMPLES) -> EvalSet:
    """The first ``limit`` samples of the validation split (the test split when the run
    kept no validation samples). ExportError when both are empty."""
    import torch

    from engine.data import iter_batches

    split, name = bundle.val, "validation"
    if len(split) == 0 and bundle.test is not None and len(bundle.test) > 0:
        split, name = bundle.test, "test"
    if len(split) == 0:
        raise ExportError("the run's data has no validation (or test) samples to compare the "
                          "fp32 and int8 models on: set dataset.val_fraction above 0 and train "
                          "again")
    xs, ys, taken = [], [], 0
    batches = iter_batches(split, 256, shuffle=False)
    for x, y in batches:
        if y is None:
            raise ExportError("the run's validation samples have no targets, so the int8 "
                              "model's metric cannot be measured")
        xs.append(x[: limit - taken])
        ys.append(y[: limit - taken])
        taken += int(xs[-1].shape[0])
        if taken >= limit:
            break
    close = getattr(batches, "close", None)
    if close is not None:
        close()
    return EvalSet(_numpy(torch.cat(xs)), torch.cat(ys).cpu().numpy(), name)


def _numpy(x) -> np.ndarray:
    """A batch as onnxruntime takes it: float32, or int64 token ids."""
    x = x.detach().cpu()
    if x.is_floating_point():
        return x.float().numpy()
    return x.long().numpy()
