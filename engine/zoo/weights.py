"""The pretrained weights of a project's composites, keyed as in the compiled model.

:func:`pretrained_state` finds every Group node of a graph whose composite has
``weights`` (a :class:`~engine.project.WeightsRef`), reads the weights (from the Hugging
Face Hub through :mod:`engine.zoo.hub`, or a local safetensors file), strips the
checkpoint's prefix, maps the names with the architecture's ``map_keys`` and returns them as
``<group node id>.<inner key>``, checked against the shapes the compiled model has. A
composite that holds only some of the architecture's blocks (a backbone stage) takes only
their tensors. Never
pickle: only safetensors files are read. A training run calls it at a fresh start.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.composite import group_target
from engine.project import Graph, Project, WeightsRef
from engine.zoo import ZooError

if TYPE_CHECKING:
    import torch

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


def pretrained_state(project: Project, graph_name: str = "model",
                     progress: Progress | None = None, cancel: Cancel | None = None,
                     base: Path | None = None) -> dict[str, torch.Tensor]:
    """The pretrained tensors of every composite use in ``graph_name`` (nested composites
    too), keyed like ``compile_graph(...).state_dict()`` of that graph.

    ``base`` is the folder local weight paths are relative to (the project file's).
    Raises :class:`~engine.zoo.ZooError` (a UserError) naming the graph and the problem.
    """
    graph = project.graphs.get(graph_name)
    if graph is None:
        raise ZooError(f"the project has no graph {graph_name!r}")
    loaded: dict[tuple[Any, ...], dict[str, Any]] = {}
    out: dict[str, Any] = {}
    _collect(project.graphs, graph, "", loaded, out, progress, cancel, base, (graph_name,))
    if out:
        _check_shapes(project.graphs, graph, graph_name, out)
    return out


def _collect(graphs: Mapping[str, Graph], graph: Graph, prefix: str,
             loaded: dict[tuple[Any, ...], dict[str, Any]], out: dict[str, Any],
             progress: Progress | None, cancel: Cancel | None, base: Path | None,
             within: tuple[str, ...]) -> None:
    for node in graph.nodes:
        target = group_target(node.type, node.params)
        if target is None or target not in graphs or target in within:
            continue
        inner = graphs[target]
        here = f"{prefix}{node.id}."
        if inner.weights is not None:
            ref = inner.weights
            key = (ref.source, ref.revision, ref.file, ref.sha256, ref.arch, ref.prefix)
            if key not in loaded:
                loaded[key] = composite_state(ref, target, progress, cancel, base)
            for k, v in own_tensors(loaded[key], inner, target).items():
                out[here + k] = v
        else:
            _collect(graphs, inner, here, loaded, out, progress, cancel, base, (*within, target))


def own_tensors(state: Mapping[str, Any], graph: Graph, graph_name: str) -> dict[str, Any]:
    """The tensors of ``state`` that belong to blocks of ``graph`` (a key's first part is
    its node id). A composite may hold only part of the checkpoint's architecture: a stage
    of a backbone cut for a U-Net (:mod:`engine.zoo.stages`), or a backbone whose last
    blocks the user removed; it takes only its own blocks' tensors. Raises
    :class:`~engine.zoo.ZooError` when none of them is for a block of ``graph``."""
    ids = {n.id for n in graph.nodes}
    own = {k: v for k, v in state.items() if k.partition(".")[0] in ids}
    if state and not own:
        first = sorted(state)[0]
        raise ZooError(f"graph {graph_name!r}: none of the {len(state)} pretrained tensors is for "
                       f"one of its blocks (the first, {first!r}, is for a block "
                       f"{first.partition('.')[0]!r}, which the model does not have); the weights "
                       "do not fit this composite (wrong architecture, prefix or configuration)")
    return own


def composite_state(ref: WeightsRef, graph_name: str, progress: Progress | None = None,
                    cancel: Cancel | None = None, base: Path | None = None) -> dict[str, Any]:
    """The tensors of one composite's weights, under the composite's own keys."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path, config = _weights_file(ref, graph_name, progress, cancel, base)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ZooError(f"graph {graph_name!r}: cannot read the weights file {path} ({e}); it is "
                       "not a readable safetensors file") from None
    if ref.prefix:
        stripped = {k[len(ref.prefix):]: v for k, v in state.items() if k.startswith(ref.prefix)}
        if not stripped:
            raise ZooError(f"graph {graph_name!r}: the weights file {path} has no tensor whose name "
                           f"starts with {ref.prefix!r} (weights.prefix); set the prefix the "
                           "checkpoint's names use")
        state = stripped
    if not ref.arch:
        return dict(state)
    from engine.zoo import arch_module

    arch = arch_module(ref.arch)
    if config is None:
        config = dict(arch.DEFAULT_CONFIG)
    return dict(arch.map_keys(state, config))


def _weights_file(ref: WeightsRef, graph_name: str, progress: Progress | None,
                  cancel: Cancel | None, base: Path | None) -> tuple[Path, dict[str, Any] | None]:
    """The local weights file of ``ref`` and the checkpoint's config (None: unknown)."""
    if ref.source.startswith("hf:"):
        from engine.zoo import hub

        known = _catalog_config(ref)
        if known is not None:  # a zoo entry: its config ships with LayerForge
            path = hub.fetch(ref.source, ref.revision or "main", [ref.file], progress=progress,
                             cancel=cancel, sha256={ref.file: ref.sha256} if ref.sha256 else None)
            return path[0], known
        files = (["config.json"] if ref.arch else []) + [ref.file]  # progress ends on weights
        sha = {ref.file: ref.sha256} if ref.sha256 else None
        paths = hub.fetch(ref.source, ref.revision or "main", files, progress=progress,
                          cancel=cancel, sha256=sha)
        config = _read_config(paths[0], graph_name) if ref.arch else None
        return paths[-1], config
    path = Path(ref.source).expanduser()
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    if path.suffix != ".safetensors":
        raise ZooError(f"graph {graph_name!r}: weights.source {ref.source!r} is neither hf:OWNER/NAME "
                       "nor a .safetensors file; LayerForge never loads pickled weights")
    if not path.is_file():
        raise ZooError(f"graph {graph_name!r}: the weights file {path} does not exist; choose the "
                       "file again or remove the weights reference")
    if ref.sha256:
        from engine.zoo.hub import file_sha256

        actual = file_sha256(path)
        if actual != ref.sha256.lower():
            raise ZooError(f"graph {graph_name!r}: {path} has sha256 {actual[:12]}... but the "
                           f"project records {ref.sha256[:12]}...; the file changed")
    config_path = path.with_name("config.json")
    config = _read_config(config_path, graph_name) if ref.arch and config_path.is_file() else None
    if config is None and ref.arch and ref.entry:  # a zoo checkpoint kept as a local file
        from engine.zoo.catalog import entry, entry_config

        config = entry_config(entry(ref.entry))
    return path, config


def _catalog_config(ref: WeightsRef) -> dict[str, Any] | None:
    """The config of the zoo entry whose weights ``ref`` names, if it is one."""
    from engine.zoo.catalog import ENTRIES, entry_config

    for e in ENTRIES:
        if ref.arch == e.arch and ref.source == e.hub_source and ref.file == e.file:
            return entry_config(e)
    return None


def _read_config(path: Path, graph_name: str) -> dict[str, Any]:
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ZooError(f"graph {graph_name!r}: cannot read the checkpoint's config {path} "
                       f"({e})") from None
    if not isinstance(config, dict):
        raise ZooError(f"graph {graph_name!r}: {path} is not a JSON object")
    return config


def expected_shapes(graphs: Mapping[str, Graph], graph: Graph,
                    name: str) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor of the compiled ``graph``'s state dict (built on the meta
    device: no memory for the weights)."""
    import torch

    from engine.compile import compile_graph
    from engine.shapes import analyze_graph

    analysis = analyze_graph(graph, name, graphs)
    if not analysis.ok:
        raise ZooError(f"graph {name!r} has errors; fix them before loading pretrained weights: "
                       f"{analysis.errors[0]}")
    with torch.device("meta"):
        module = compile_graph(graph, name, 0, analysis, graphs)
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def _check_shapes(graphs: Mapping[str, Graph], graph: Graph, name: str,
                  state: Mapping[str, Any]) -> None:
    expected = expected_shapes(graphs, graph, name)
    for key, value in state.items():
        want = expected.get(key)
        group = key.partition(".")[0]
        if want is None:
            raise ZooError(f"graph {name!r}: the pretrained weights of block {group!r} hold "
                           f"{key!r}, which the model does not have; the weights do not fit this "
                           "composite (wrong architecture or configuration)")
        if tuple(value.shape) != want:
            have = "[" + ", ".join(map(str, value.shape)) + "]"
            need = "[" + ", ".join(map(str, want)) + "]"
            raise ZooError(f"graph {name!r}: the pretrained tensor {key!r} has shape {have} but "
                           f"block {group!r} needs {need}; the composite was changed after its "
                           "weights were chosen (restore it, or remove its weights reference)")


__all__ = ["composite_state", "expected_shapes", "own_tensors", "pretrained_state"]
