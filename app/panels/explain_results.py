"""What the Explain tab asks of a run, without widgets: the blocks it can show, one
sample's explanations (its picture, the Integrated Gradients saliency and Grad-CAM
overlays) and a block's activations for that sample. These run as the panel's background
jobs (torch is imported there, never on the GUI thread) and return plain numpy arrays and
numbers (docs/decisions/0002).

The run is opened through the evaluation panel's :class:`app.panels.run_results.RunCache`
(its model and data set): the samples explained are the ones the evaluation shows, and
the data are loaded once for both. Its lock is held while a job uses the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: the tasks and data an explanation is made for
EXPLAINED = ("classification", "image")


@dataclass
class BlockFacts:
    key: str  # "model/conv2"
    node: str  # "conv2"
    type: str
    shape: tuple[int, ...]

    @property
    def spatial(self) -> bool:
        return len(self.shape) == 3

    def describe(self) -> str:
        dims = "x".join(str(d) for d in self.shape)
        return f"{self.node} ({self.type}, {dims})"


@dataclass
class ExplainFacts:
    """A run as the Explain tab sees it once opened: its blocks and splits."""

    run_dir: str
    blocks: list[BlockFacts] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)  # split -> samples

    @property
    def spatial(self) -> list[BlockFacts]:
        return [b for b in self.blocks if b.spatial]


@dataclass
class Explanation:
    """One sample's picture and maps, and what the model said of it."""

    run_dir: str
    split: str
    index: int
    block: str  # the block Grad-CAM used ("" without one)
    image: Any  # uint8 [H, W] or [H, W, 3]
    saliency: Any  # uint8 RGB overlay [H, W, 3]
    grad_cam: Any  # uint8 RGB overlay, or None (no block with feature maps)
    true: str
    predicted: str
    confidence: float


@dataclass
class Activations:
    """A block's output for one sample: feature maps as a grid picture, or a vector's
    histogram (counts over edges)."""

    run_dir: str
    split: str
    index: int
    block: BlockFacts
    grid: Any = None  # uint8 [h, w] grid of the maps (spatial blocks)
    maps: int = 0  # maps in the grid (of ``block.shape[0]``)
    counts: list[int] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)


def read_facts(cache: Any, run_dir: str) -> ExplainFacts:
    """The run's blocks and split sizes (a job); ExplainError for a run of another kind."""
    from engine import explain

    with cache.lock:
        loaded = cache.open(run_dir)
        explain.check_run(loaded)
        b = loaded.bundle
        blocks = [BlockFacts(o.key, o.node, o.type, o.shape)
                  for o in explain.block_outputs(loaded)]
        sizes = {"val": len(b.val) if b.val is not None else 0,
                 "test": len(b.test) if b.test is not None else 0}
        return ExplainFacts(run_dir, blocks, list(b.classes or []), sizes)


def explain_sample(cache: Any, run_dir: str, split: str, index: int,
                   block: str | None) -> Explanation:
    """Sample ``index`` of ``split`` explained: saliency and Grad-CAM at ``block`` (None:
    the last block with feature maps; none there: no Grad-CAM)."""
    from engine import explain
    from engine.explain import overlay

    with cache.lock:
        loaded = cache.open(run_dir)
        s = explain.sample(loaded, index, split)
        pred = explain.predict(loaded, s.x)
        sal = overlay.overlay(s.image, explain.saliency(loaded, s.x))
        spatial = explain.conv_blocks(loaded)
        used = block or (spatial[-1] if spatial else "")
        cam = overlay.overlay(s.image, explain.grad_cam(loaded, s.x, used)) if used else None
        classes = list(loaded.bundle.classes or [])
        return Explanation(run_dir, split, index, used, s.image, sal, cam,
                           _name(classes, s.label), _name(classes, pred.label),
                           pred.confidence)


def block_activations(cache: Any, run_dir: str, split: str, index: int,
                      block: BlockFacts) -> Activations:
    """``block``'s output for sample ``index`` of ``split``."""
    from engine import explain
    from engine.explain import overlay

    with cache.lock:
        loaded = cache.open(run_dir)
        s = explain.sample(loaded, index, split)
        values = explain.activations(loaded, s.x, block.key)
    out = Activations(run_dir, split, index, block)
    if values.ndim == 3:
        out.grid = overlay.feature_grid(values)
        out.maps = min(len(values), 64)
    else:
        counts, edges = overlay.histogram(values)
        out.counts, out.edges = [int(c) for c in counts], [float(e) for e in edges]
    return out


def _name(classes: list[str], label: int) -> str:
    return classes[label] if 0 <= label < len(classes) else f"output {label}"
