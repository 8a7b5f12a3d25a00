"""Fine-tuning: which parameters train, at which learning rate, and in which phase.

A node whose ``trainable`` is off is frozen: its parameters get ``requires_grad`` False and
stay out of the optimizer, so they are bit-identical after training. A frozen Group node
freezes its whole submodule; a node inside a composite graph that is frozen is frozen in
every use of that composite. With ``training.freeze_bn`` the batch norms of frozen blocks
also keep their running statistics (they stay in eval mode while the rest trains).

A parameter's learning rate is ``training.lr * lr_mult`` of the innermost node on its way
that sets one (a Group node's ``lr_mult`` covers its submodule unless an inner node sets its
own). Parameters with the same multiplier share one optimizer param group, in the order
they first appear in the model, so a resumed run rebuilds exactly the same groups.

Two phases: with ``training.unfreeze_epoch`` E > 0, the blocks named in
``training.unfreeze`` (every frozen block when it is empty) join the training at the start
of epoch E, as new param groups appended to the optimizer.

The checks (:func:`finetune_problems`) are plain Python, so the editor and the CLI can run
them without torch; :class:`FineTune` works on the compiled modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.composite import group_target
from engine.graph import Problem
from engine.project import Graph, Node, Project

if TYPE_CHECKING:
    from torch import nn

#: Problem.graph of the fine-tuning settings' problems
FIELD = "training.unfreeze"


def trained_graphs(project: Project) -> tuple[str, ...]:
    from engine.memory import trained_graphs as names

    return names(project)


class Chains:
    """Resolves a dotted parameter or module name of a compiled graph to the nodes it
    passes through: the top node, then, through each Group node, the inner node."""

    def __init__(self, graphs: Mapping[str, Graph]) -> None:
        self.index = {name: {n.id: n for n in g.nodes} for name, g in graphs.items()}

    def chain(self, graph: str, dotted: str) -> list[Node]:
        nodes: list[Node] = []
        here = self.index.get(graph)
        for part in dotted.split("."):
            node = here.get(part) if here is not None else None
            if node is None:
                break
            nodes.append(node)
            target = group_target(node.type, node.params)
            here = self.index.get(target) if target is not None else None
        return nodes

    def resolves(self, graph: str, dotted: str) -> bool:
        """Whether every part of ``dotted`` names a node (a block path like
        ``backbone.stage4_conv``)."""
        return len(self.chain(graph, dotted)) == len(dotted.split("."))

    def top_ids(self, graph: str) -> list[str]:
        return [nid for nid, n in (self.index.get(graph) or {}).items()
                if n.type not in ("Input", "Output")]


def settings(chain: list[Node]) -> tuple[bool, float]:
    """(frozen, lr_mult) of whatever sits at the end of ``chain``."""
    frozen = any(not n.trainable for n in chain)
    mult = 1.0
    for n in chain:
        if n.lr_mult != 1.0:
            mult = n.lr_mult
    return frozen, mult


def selected(chain: list[Node], names: set[str]) -> bool:
    """Whether ``chain`` lies in one of the blocks ``names`` (empty: every block)."""
    if not names:
        return True
    path = ""
    for n in chain:
        path = f"{path}.{n.id}" if path else n.id
        if path in names:
            return True
    return False


def block_path(chain: list[Node], names: set[str]) -> str:
    """The block a frozen parameter belongs to, as the user names it: the path
    ``training.unfreeze`` matched, else the outermost frozen node (``backbone`` or
    ``backbone.stem_conv``)."""
    path = ""
    for n in chain:
        path = f"{path}.{n.id}" if path else n.id
        if (path in names) if names else not n.trainable:
            return path
    return path


def _frozen_nodes(graphs: Mapping[str, Graph], graph: str, seen: tuple[str, ...] = ()) -> bool:
    g = graphs.get(graph)
    if g is None or graph in seen:
        return False
    for n in g.nodes:
        if not n.trainable:
            return True
        target = group_target(n.type, n.params)
        if target is not None and _frozen_nodes(graphs, target, (*seen, graph)):
            return True
    return False


def finetune_problems(project: Project) -> list[Problem]:
    """What is wrong with the fine-tuning settings: ``training.unfreeze`` naming blocks the
    trained graphs do not have (an error), a phase 2 that never comes or unfreezes nothing
    (warnings). Torch-free."""
    cfg = project.training
    names = trained_graphs(project)
    chains = Chains(project.graphs)
    probs: list[Problem] = []
    bad = [u for u in cfg.unfreeze if not any(chains.resolves(g, u) for g in names)]
    if bad:
        have = ", ".join(i for g in names for i in chains.top_ids(g)[:12]) or "none"
        which = ", ".join(repr(b) for b in bad)
        graph = names[0] if len(names) == 1 else "the trained graphs"
        one = len(bad) == 1
        probs.append(Problem(FIELD, None, f"names {which}, which {'is not a block' if one else 'are not blocks'} "
                             f"of {graph} (its blocks include {have}): remove "
                             f"{'it' if one else 'them'} or use the block ids of the model (a "
                             f"block inside a composite reads GROUP.BLOCK)"))
    frozen = any(_frozen_nodes(project.graphs, g) for g in names)
    if cfg.unfreeze_epoch > cfg.epochs:
        probs.append(Problem("training.unfreeze_epoch", None, f"is {cfg.unfreeze_epoch} but the "
                             f"run has only {cfg.epochs} epochs, so the frozen blocks never "
                             f"train: lower it or train longer", "warning"))
    elif cfg.unfreeze_epoch > 0 and not frozen:
        probs.append(Problem("training.unfreeze_epoch", None, f"is {cfg.unfreeze_epoch} but no "
                             "block is frozen, so there is nothing to unfreeze", "warning"))
    if cfg.unfreeze and cfg.unfreeze_epoch == 0 and not bad:
        probs.append(Problem(FIELD, None, "lists blocks to unfreeze but training.unfreeze_epoch "
                             "is 0 (never): set the epoch where they start to train",
                             "warning"))
    return probs


@dataclass
class _Param:
    name: str
    param: Any  # nn.Parameter
    frozen: bool
    mult: float
    later: bool  # frozen now, trains from phase 2


class FineTune:
    """The trainable masks, param groups and batch-norm modes of one run's models."""

    def __init__(self, project: Project, models: Mapping[str, nn.Module]) -> None:
        from torch.nn.modules.batchnorm import _NormBase

        cfg = project.training
        self.freeze_bn = cfg.freeze_bn
        self.unfreeze_epoch = cfg.unfreeze_epoch
        self.unfrozen = False
        names = set(cfg.unfreeze)
        chains = Chains(project.graphs)
        self.params: dict[str, list[_Param]] = {}
        self.norms: dict[str, list[tuple[Any, bool, bool]]] = {}  # (module, frozen, later)
        later_blocks: list[str] = []
        for gname, model in models.items():
            rows = []
            for pname, p in model.named_parameters():
                chain = chains.chain(gname, pname)
                frozen, mult = settings(chain)
                later = frozen and self.unfreeze_epoch > 0 and selected(chain, names)
                rows.append(_Param(pname, p, frozen, mult, later))
                block = block_path(chain, names) if later else ""
                if block and block not in later_blocks:
                    later_blocks.append(block)
            self.params[gname] = rows
            norms = []
            for mname, m in model.named_modules():
                if isinstance(m, _NormBase) and m.track_running_stats:
                    chain = chains.chain(gname, mname)
                    frozen, _ = settings(chain)
                    norms.append((m, frozen, frozen and self.unfreeze_epoch > 0
                                  and selected(chain, names)))
            self.norms[gname] = norms
        #: the blocks phase 2 unfreezes (top-level ids, or the paths training.unfreeze names)
        self.later_blocks = later_blocks
        self.apply_masks()

    # --- masks and counts ----------------------------------------------------------------
    def _trains(self, row: _Param) -> bool:
        return not row.frozen or (self.unfrozen and row.later)

    def apply_masks(self) -> None:
        """Set ``requires_grad`` of every parameter for the current phase."""
        for rows in self.params.values():
            for row in rows:
                row.param.requires_grad_(self._trains(row))

    def counts(self) -> tuple[int, int]:
        """(trainable now, total) parameters."""
        rows = [r for rs in self.params.values() for r in rs]
        return (sum(r.param.numel() for r in rows if self._trains(r)),
                sum(r.param.numel() for r in rows))

    def frozen_graphs(self, graphs: Iterable[str]) -> bool:
        """Whether none of the parameters of ``graphs`` trains now."""
        return not any(self._trains(r) for g in graphs for r in self.params.get(g, []))

    # --- param groups -----------------------------------------------------------------------
    def start(self) -> None:
        """At the run's setup: a phase 2 from epoch 1 means no phase 1 at all."""
        if self.unfreeze_epoch == 1 and not self.unfrozen:
            self.unfrozen = True
            self.apply_masks()

    def groups(self, graphs: Iterable[str], *, phase2: bool = False) -> list[dict[str, Any]]:
        """Param groups of ``graphs``: those that train now, or (``phase2``) those that
        join at phase 2; one group per ``lr_mult``, in order of first appearance. Each
        group carries its ``lr_mult`` (the loop sets ``lr = lr * lr_mult``)."""
        by_mult: dict[float, list[Any]] = {}
        for g in graphs:
            for row in self.params.get(g, []):
                if (row.later if phase2 else self._trains(row)):
                    by_mult.setdefault(row.mult, []).append(row.param)
        return [{"params": ps, "lr_mult": m} for m, ps in by_mult.items()]

    def due(self, next_epoch: int) -> bool:
        """Whether phase 2 starts at (1-based) epoch ``next_epoch`` or before it."""
        return not self.unfrozen and 0 < self.unfreeze_epoch <= next_epoch

    def unfreeze(self, optimizers: Mapping[str, Any], graphs_of: Mapping[str, list[str]],
                 base_lr: float) -> None:
        """Start phase 2: the chosen frozen parameters get ``requires_grad`` and join each
        optimizer as new param groups (after the existing ones, always in the same order)."""
        if self.unfrozen:
            return
        self.unfrozen = True
        self.apply_masks()
        for name, opt in optimizers.items():
            for group in self.groups(graphs_of[name], phase2=True):
                opt.add_param_group({**group, "lr": base_lr * group["lr_mult"]})

    # --- batch norm -------------------------------------------------------------------------
    def hold_norms(self) -> None:
        """With freeze_bn, put the batch norms of frozen blocks back in eval mode (call it
        after every ``model.train()``), so their running statistics stay as loaded."""
        if not self.freeze_bn:
            return
        for norms in self.norms.values():
            for m, frozen, later in norms:
                if frozen and not (self.unfrozen and later):
                    m.eval()
