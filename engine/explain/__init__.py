"""Explanations of an image classifier's answers (issue 17): an Integrated Gradients
saliency map, Grad-CAM at a chosen block, and a block's activations for one sample, with
Captum, PyTorch's interpretability library.

Open a run with :func:`engine.train.inference.open_run` (a sample by index needs its
data) or ``open_model`` (a prepared input tensor), then::

    s = sample(loaded, 12, "val")
    heat = grad_cam(loaded, s.x)                  # the last block with feature maps
    sal = saliency(loaded, s.x)                   # [H, W] in [0, 1]
    maps = activations(loaded, s.x, "model/conv1")  # [C, H, W] or a vector

Runs of other kinds are refused with an :class:`ExplainError` sentence. Pictures of the
results: :mod:`engine.explain.overlay`. The command line: ``layerforge explain``.
"""

from engine.explain.methods import (
    IG_STEPS,
    Prediction,
    Sample,
    activations,
    grad_cam,
    picture,
    predict,
    saliency,
    sample,
)
from engine.explain.probe import (
    BlockOutput,
    ExplainError,
    block_outputs,
    check_run,
    conv_blocks,
)

__all__ = ["IG_STEPS", "BlockOutput", "ExplainError", "Prediction", "Sample", "activations",
           "block_outputs", "check_run", "conv_blocks", "grad_cam", "picture", "predict",
           "saliency", "sample"]
