"""Why an image classifier answered as it did, with Captum: Integrated Gradients saliency,
Grad-CAM at a block, and a block's activations, for one sample.

Each takes a run opened with :mod:`engine.train.inference` and a sample: an index into
the run's validation or test split (:func:`sample`; the run must be opened with its data,
``open_run``), or a prepared input tensor [C, H, W] (normalised as the run's data, e.g.
by :func:`engine.train.predict_images.model_input`). Maps come back as numpy arrays the
size of the input image, scaled to [0, 1], for :mod:`engine.explain.overlay` to draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from engine.explain.probe import (
    ExplainError,
    check_run,
    conv_blocks,
    model_of,
    probed,
    resolve,
)

if TYPE_CHECKING:
    from engine.train.inference import LoadedRun

#: the Riemann steps of Integrated Gradients: enough for a small image classifier's
#: attributions to settle (the completeness error stays within a few per cent)
IG_STEPS = 32


@dataclass
class Sample:
    """One sample of a run's split: the model's input, its label, the picture."""

    index: int
    split: str
    x: torch.Tensor  # [C, H, W], normalised as the model takes it
    label: int
    image: np.ndarray  # uint8 [H, W] (grey) or [H, W, 3], as the data looked


@dataclass
class Prediction:
    label: int  # the class the model gives
    confidence: float  # its softmax probability


def sample(loaded: LoadedRun, index: int, split: str = "val") -> Sample:
    """Sample ``index`` of the run's ``split`` ("val" or "test")."""
    check_run(loaded)
    data = loaded.bundle.val if split == "val" else loaded.bundle.test if split == "test" else None
    if split not in ("val", "test"):
        raise ExplainError(f"no split {split!r}: choose val or test")
    size = 0 if data is None or getattr(data, "streaming", False) else len(data)
    if size == 0:
        raise ExplainError(f"{loaded.run.path}: the run has no {split} samples loaded (its "
                           f"data set is gone, or dataset.{split}_fraction is 0)")
    if not 0 <= index < size:
        raise ExplainError(f"sample {index} is not in the {split} split: it has samples 0 to "
                           f"{size - 1}")
    x = data.x[index].float()
    return Sample(index, split, x, int(data.y[index]), picture(loaded, x))


def picture(loaded: LoadedRun, x: torch.Tensor) -> np.ndarray:
    """The input [C, H, W] as the data looked before normalisation: uint8 [H, W] or
    [H, W, 3]."""
    raw = loaded.bundle.denormalize(x.detach().float().cpu()[None])[0]
    lo, hi = float(raw.min()), float(raw.max())
    if lo < -0.01 or hi > 1.01:  # not pixels in [0, 1]: stretch to show
        raw = (raw - lo) / max(hi - lo, 1e-8)
    arr = (raw.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    return arr[0].copy() if arr.shape[0] == 1 else np.ascontiguousarray(arr[:3].transpose(1, 2, 0))


def predict(loaded: LoadedRun, x: torch.Tensor) -> Prediction:
    """The model's class and confidence for one input [C, H, W]."""
    with torch.no_grad():
        probs = model_of(loaded)(_batch(loaded, x)).float().softmax(-1)[0]
    conf, label = probs.max(-1)
    return Prediction(int(label), float(conf))


def captum_attr() -> Any:
    """``captum.attr``, imported with matplotlib (which Captum's plotting helpers load)
    kept out of the user's home: its font cache goes to LayerForge's cache folder
    (``$LAYERFORGE_CACHE/matplotlib``, else ``~/.cache/layerforge/matplotlib``) and no GUI
    backend is chosen. Nothing here plots."""
    import os
    from pathlib import Path

    if "MPLCONFIGDIR" not in os.environ:
        base = os.environ.get("LAYERFORGE_CACHE")
        folder = Path(base) if base else Path.home() / ".cache" / "layerforge"
        os.environ["MPLCONFIGDIR"] = str(folder / "matplotlib")
    os.environ.setdefault("MPLBACKEND", "Agg")
    import captum.attr

    return captum.attr


def saliency(loaded: LoadedRun, x: torch.Tensor, target: int | None = None,
             steps: int = IG_STEPS) -> np.ndarray:
    """Integrated Gradients of class ``target`` (None: the predicted class) for the input
    ``x`` [C, H, W]: float32 [H, W] in [0, 1], the absolute attributions summed over the
    channels and divided by their largest. The baseline is a black image (a zero pixel
    normalised as the data were), the absence of any shape or stroke."""
    IntegratedGradients = captum_attr().IntegratedGradients

    check_run(loaded)
    xb = _batch(loaded, x)
    target = _target(loaded, x, target)
    ig = IntegratedGradients(model_of(loaded))
    attr = ig.attribute(xb, baselines=_black(loaded, xb), target=target, n_steps=steps,
                        internal_batch_size=steps)
    return _unit(attr[0].abs().sum(0))


def grad_cam(loaded: LoadedRun, x: torch.Tensor, block: str | None = None,
             target: int | None = None) -> np.ndarray:
    """Grad-CAM of class ``target`` (None: the predicted one) at ``block`` ("model/conv2"
    or "conv2"; None: the last block with feature maps) for the input ``x`` [C, H, W]:
    float32 [H, W] in [0, 1], Captum's LayerGradCam (ReLU of the gradient-weighted sum of
    the block's maps) upsampled bilinearly to the input and divided by its largest."""
    attr_mod = captum_attr()
    LayerAttribution, LayerGradCam = attr_mod.LayerAttribution, attr_mod.LayerGradCam

    b = resolve(loaded, block) if block else _default_block(loaded)
    if not b.spatial:
        raise ExplainError(f"Grad-CAM needs a block with feature maps (channels, height, "
                           f"width); {b.node} ({b.type}) outputs {list(b.shape)}: choose one "
                           f"of {', '.join(k.split('/')[-1] for k in conv_blocks(loaded))}")
    xb = _batch(loaded, x)
    target = _target(loaded, x, target)
    model, probe = probed(loaded, b.node)
    attr = LayerGradCam(model, probe).attribute(xb, target=target, relu_attributions=True)
    up = LayerAttribution.interpolate(attr.detach().float(), tuple(xb.shape[-2:]), "bilinear")
    return _unit(up[0, 0])


def activations(loaded: LoadedRun, x: torch.Tensor, block: str) -> np.ndarray:
    """Block ``block``'s output for the input ``x`` [C, H, W]: float32 feature maps
    [C, H, W] for a spatial block, else a vector (the output flattened)."""
    b = resolve(loaded, block)
    model, probe = probed(loaded, b.node)
    seen: list[torch.Tensor] = []
    handle = probe.register_forward_hook(lambda _m, _i, out: seen.append(out.detach()))
    try:
        with torch.no_grad():
            model(_batch(loaded, x))
    finally:
        handle.remove()
    out = seen[0][0].float().cpu()
    return out.numpy() if b.spatial else out.reshape(-1).numpy()


def _default_block(loaded: LoadedRun):
    spatial = conv_blocks(loaded)
    if not spatial:
        raise ExplainError(f"{loaded.run.path}: Grad-CAM needs a convolutional network; no "
                           "block of this model outputs feature maps (use the saliency map)")
    return resolve(loaded, spatial[-1])


def _batch(loaded: LoadedRun, x: torch.Tensor) -> torch.Tensor:
    shape = tuple(loaded.bundle.input_shape)
    if tuple(x.shape) != shape:
        raise ExplainError(f"the input is {list(x.shape)}; the run takes {list(shape)} "
                           "(channels, height, width)")
    return x.detach().float()[None].to(loaded.task.device)


def _target(loaded: LoadedRun, x: torch.Tensor, target: int | None) -> int:
    if target is None:
        return predict(loaded, x).label
    outputs = model_of(loaded)(_batch(loaded, x)).shape[-1]
    if not 0 <= int(target) < outputs:
        raise ExplainError(f"class {target} is not an output of the model (0 to {outputs - 1})")
    return int(target)


def _black(loaded: LoadedRun, xb: torch.Tensor) -> torch.Tensor:
    """A black image as the model takes it: pixel 0 normalised with the data's mean/std."""
    b = loaded.bundle
    if b.mean is None or b.std is None:
        return torch.zeros_like(xb)
    mean = torch.tensor(b.mean, dtype=xb.dtype, device=xb.device).reshape(1, -1, 1, 1)
    std = torch.tensor(b.std, dtype=xb.dtype, device=xb.device).reshape(1, -1, 1, 1)
    return ((torch.zeros_like(xb) - mean) / std).expand_as(xb).contiguous()


def _unit(m: torch.Tensor) -> np.ndarray:
    m = m.detach().float().cpu()
    top = float(m.max())
    return (m / top if top > 0 else torch.zeros_like(m)).clamp(0, 1).numpy().astype(np.float32)
