"""What the training doctor knows of a network without torch: each block's type, sources
and consumers, which blocks feed an Output, and the rank of each block's output (from the
analytic shape rules), keyed ``"GRAPH/NODE"`` like the block statistics.

It also reads one block's statistics safely: the recorded values may be missing (``None``,
a block without parameters), non-finite (written as null) or from a newer peer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.blocks import get_block
from engine.project import Project

#: blocks whose job is to rescale (a jump in scale across them is their purpose, not a fault)
RESCALERS = {"BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "LayerScale",
             "TransformerEncoderLayer", "TransformerDecoderLayer", "Softmax", "LogSoftmax",
             "Embedding", "Multiply"}
#: block families whose scale change, input to output, is their own weights' or shape's doing
#: (audio front ends, task heads and composites are left out: their gain is not one layer's)
GAIN_FAMILIES = {"dense", "conv", "activation", "recurrent", "attention", "pool", "reshape",
                 "merge"}
#: bounded activations: their "dead" statistic is the share of saturated outputs
SATURATING = {"Sigmoid", "Tanh"}
#: normalisation blocks: a block already followed by one gets no "add normalisation" fix
NORMS = {"BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm"}


@dataclass
class Net:
    """The blocks of every graph of a project, keyed ``"GRAPH/NODE"``."""

    types: dict[str, str] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)
    consumers: dict[str, list[str]] = field(default_factory=dict)
    #: blocks wired straight into an Output node (a network's last layer)
    last: set[str] = field(default_factory=set)
    #: the rank of a block's output without the batch dimension (None: unknown)
    rank: dict[str, int | None] = field(default_factory=dict)
    #: Input nodes that give floating-point data (whose statistics are a gain's reference)
    float_inputs: set[str] = field(default_factory=set)
    #: the float Input nodes whose data are standardised (``dataset.normalize`` or a fixed
    #: mean and std): a spread of about 1, the reference of the first layer's gain, since
    #: the statistics never measure an Input (it has no module)
    standardised: set[str] = field(default_factory=set)
    order: dict[str, int] = field(default_factory=dict)  # graph order, for stable sorting

    def family(self, key: str) -> str:
        block = get_block(self.types.get(key, ""))
        return block.family if block is not None else ""

    def has_params(self, key: str) -> bool:
        return self.family(key) in ("dense", "conv", "recurrent", "attention") and \
            self.types.get(key) not in ("ZeroPad2d", "PositionalEncoding")

    def gains_apply(self, key: str) -> bool:
        """Whether a jump in scale from this block's inputs to its output is a fault."""
        t = self.types.get(key, "")
        return self.family(key) in GAIN_FAMILIES and t not in RESCALERS

    def node_id(self, key: str) -> str:
        return key.partition("/")[2]


def build_net(project: Project) -> Net:
    """The :class:`Net` of ``project``; shapes come from :func:`engine.shapes.analyze_project`
    (analytic, torch-free), and a graph that does not analyse leaves its ranks unknown."""
    from engine.shapes import analyze_project

    net = Net()
    try:
        analyses = analyze_project(project)
    except Exception:  # noqa: BLE001 - a damaged snapshot: diagnose without shapes
        analyses = {}
    for gname, graph in project.graphs.items():
        analysis = analyses.get(gname)
        for node in graph.nodes:
            key = f"{gname}/{node.id}"
            net.order[key] = len(net.order)
            net.types[key] = node.type
            net.sources.setdefault(key, [])
            net.consumers.setdefault(key, [])
            info = analysis.nodes.get(node.id) if analysis is not None else None
            out = info.out if info is not None else None
            net.rank[key] = len(out.shape) if out is not None else None
            if node.type == "Input" and out is not None and out.dtype == "float":
                net.float_inputs.add(key)
                if project.dataset.normalize or project.dataset.std is not None:
                    net.standardised.add(key)
        for edge in graph.edges:
            src, dst = f"{gname}/{edge.src}", f"{gname}/{edge.dst}"
            if src not in net.types or dst not in net.types:
                continue
            net.sources[dst].append(src)
            net.consumers[src].append(dst)
            if net.types[dst] == "Output":
                net.last.add(src)
    return net


def value(stats: Mapping[str, Any] | None, name: str) -> float | None:
    """One recorded statistic as a finite float, else None (missing, null or non-finite)."""
    if not isinstance(stats, Mapping):
        return None
    v = stats.get(name)
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def positive(stats: Mapping[str, Any] | None, name: str) -> float | None:
    """A statistic that is finite and above zero (a scale a ratio can be taken of)."""
    v = value(stats, name)
    return v if v is not None and v > 0 else None
