"""Where gradients explode or vanish, from one measurement of block statistics.

Two rules, both reading only the recorded statistics (torch-free):

**A jump at one block.** A block's *gain* is how much it changes the scale of what passes
through it. Forward: the standard deviation of its output over that of its input
(``act_std``). Backward: the norm of the gradient it passes back to its input, which is
the ``grad_out`` of its source, over the norm of the gradient at its own output
(``grad_out``). For a layer at PyTorch's default initialisation both are about 0.5 to 2
whatever the layer's width (the forward ratio per element, the backward ratio of whole
norms), for ReLU about 0.6 to 0.7, for a sigmoid about 0.25, for pooling at most a few tens
down. A block whose gains are both at least 100 (two orders of magnitude) makes the
gradients explode there; both at most 1/100, vanish. This names the block whose weights are
off (a layer initialised 10,000 times too large shows a gain near 10,000 both ways) and not
the blocks before it, which merely receive the damage. The backward gain is skipped where
the source feeds other blocks too (its gradient is then a sum, not this block's doing);
normalisation, softmax, embeddings and composites are left out (rescaling is their job).
Blocks without a module of their own (Flatten, Reshape, Add...) are not measured: a gain
reaches through such a block, when it has one input, to the measured block above it. Inputs
are not measured either: a first layer reading standardised data (``dataset.normalize``)
is judged against a spread of 1, which its data have.

**A drift along the network.** Gradients can also shrink a little at every block, as
through a deep stack of sigmoids (about 0.15 per layer). Going back from the loss, the
first block whose gradient norm is 10,000 times (four orders of magnitude) smaller (or
larger) than at the block nearest the loss is where the vanishing (or explosion) has taken
hold: that block and all before it barely learn. A plain ReLU network of eight layers at
the default initialisation shrinks its gradients about a thousandfold and is not flagged;
eight sigmoid layers shrink them about a millionfold. A drift that a jump nearer the loss
already explains is not reported twice.

Both rules report in backward order: the block nearest the loss first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from engine.train.doctor_net import SATURATING, Net, positive, value

#: a gain across one block of two orders of magnitude is a fault
JUMP = 100.0
#: four orders of magnitude between the loss end and a block
DRIFT = 1e4
#: a ReLU-like block with at least this share of dead units is the dead-units rule's
DEAD = 0.5


@dataclass(frozen=True)
class Flow:
    """One place where gradients explode or vanish in one measurement."""

    kind: Literal["exploding", "vanishing"]
    block: str  # "GRAPH/NODE"
    how: Literal["jump", "drift"]
    gain: float  # jump: the block's gain (>1 exploding); drift: the gradient over ``ref``'s
    forward: float | None = None  # jump: the forward gain, when measured
    backward: float | None = None  # jump: the backward gain, when measured
    ref: str = ""  # drift: the block nearest the loss it is compared with


def flows(net: Net, blocks: Mapping[str, Mapping[str, Any]]) -> list[Flow]:
    """Every jump and drift in one measurement (``BlockStats.blocks``), nearest the loss
    first."""
    jumps = [f for key in blocks if (f := _jump(net, blocks, key)) is not None]
    jumps.reverse()
    out = list(jumps)
    for graph in dict.fromkeys(key.partition("/")[0] for key in blocks):
        drift = _drift(net, blocks, graph)
        if drift is not None and not _explained(drift, jumps, list(blocks)):
            out.append(drift)
    return out


def _jump(net: Net, blocks: Mapping[str, Mapping[str, Any]], key: str) -> Flow | None:
    if not net.gains_apply(key) or _dead(net, blocks, key):
        return None
    stats = blocks[key]
    sources = _measured_sources(net, blocks, key)
    forward = backward = None
    out_std = positive(stats, "act_std")
    ins = [positive(blocks[s], "act_std") for s, _ in sources
           if net.types.get(s) != "Input" or s in net.float_inputs]
    ins = [v for v in ins if v is not None]
    if not ins and any(s in net.standardised and s not in blocks
                       for s in net.sources.get(key, [])):
        ins = [1.0]  # the first layer reads standardised data (Inputs are not measured)
    if out_std is not None and ins:
        forward = out_std / max(ins)
    grad = positive(stats, "grad_out")
    back = [positive(blocks[s], "grad_out") for s, sole in sources
            if sole and net.types.get(s) != "Input"]
    back = [v for v in back if v is not None]
    if grad is not None and back:
        backward = max(back) / grad
    gains = [g for g in (forward, backward) if g is not None]
    if not gains:
        return None
    if all(g >= JUMP for g in gains):
        return Flow("exploding", key, "jump", min(gains), forward, backward)
    if all(g <= 1 / JUMP for g in gains):
        return Flow("vanishing", key, "jump", max(gains), forward, backward)
    return None


def _measured_sources(net: Net, blocks: Mapping[str, Mapping[str, Any]],
                      key: str) -> list[tuple[str, bool]]:
    """The measured blocks that feed ``key``: its sources, or, through blocks that were not
    measured (functional ones: Flatten, Reshape, a pooling to a vector) and have one input,
    the nearest measured block above. Each comes with whether every block on the way feeds
    only the next one (then the gradient it receives is this block's doing alone)."""
    out = []
    for src in net.sources.get(key, []):
        sole = len(net.consumers.get(src, [])) == 1
        seen = {key}
        while src not in blocks and len(net.sources.get(src, [])) == 1 and src not in seen:
            seen.add(src)
            src = net.sources[src][0]
            sole = sole and len(net.consumers.get(src, [])) == 1
        if src in blocks:
            out.append((src, sole))
    return out


def _dead(net: Net, blocks: Mapping[str, Mapping[str, Any]], key: str) -> bool:
    """A ReLU-like block mostly dead: its silence is the dead-units rule's finding."""
    share = value(blocks[key], "dead")
    return share is not None and share >= DEAD and net.types.get(key) not in SATURATING


def _drift(net: Net, blocks: Mapping[str, Mapping[str, Any]], graph: str) -> Flow | None:
    chain = [(key, g) for key in blocks
             if key.partition("/")[0] == graph and net.types.get(key) not in ("Input", None)
             and (g := positive(blocks[key], "grad_out")) is not None]
    if len(chain) < 3:
        return None
    ref_key, ref = chain[-1]
    for key, g in reversed(chain[:-1]):
        ratio = g / ref
        if ratio <= 1 / DRIFT:
            return Flow("vanishing", key, "drift", ratio, ref=ref_key)
        if ratio >= DRIFT:
            return Flow("exploding", key, "drift", ratio, ref=ref_key)
    return None


def _explained(drift: Flow, jumps: list[Flow], order: list[str]) -> bool:
    """A jump of the same kind between the drift's block and the loss caused it (``order``:
    the measurement's blocks in forward order)."""
    at = order.index(drift.block)
    graph = drift.block.partition("/")[0]
    return any(j.kind == drift.kind and j.block.partition("/")[0] == graph
               and order.index(j.block) >= at for j in jumps)


def orders(ratio: float) -> float:
    """Orders of magnitude in a ratio (both ways): 1e-4 and 1e4 are 4."""
    return abs(math.log10(ratio)) if ratio > 0 else math.inf
