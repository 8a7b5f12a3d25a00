"""safetensors export: the weights plus the graph that explains them, in one file.

The metadata holds the graph JSON, its name and input specs, so :func:`load_model` can
rebuild the network from this single file (no pickle anywhere), and for a trained run how
its inputs were prepared (``layerforge.mean``/``std``/``classes``/``preprocessing``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.composite import descendants
from engine.project import Graph

META_FORMAT = "layerforge.format"
META_GRAPH = "layerforge.graph"
META_NAME = "layerforge.graph_name"
META_INPUTS = "layerforge.inputs"
META_OUTPUTS = "layerforge.outputs"
META_TRAINED = "layerforge.trained"
#: the composite graphs the graph uses (JSON object name -> graph), when it uses any
META_COMPOSITES = "layerforge.composites"
FORMAT_VERSION = "1"
MAX_GRAPH_JSON = 16 * 1024 * 1024


def spec_json(spec) -> dict[str, Any]:
    return {"shape": [-1 if d is None else d for d in spec.shape], "dtype": spec.dtype,
            "vocab": spec.vocab}


def write_weights(path: Path, module, graph: Graph, graph_name: str, analysis,
                  trained: bool, data: dict[str, Any] | None = None,
                  library: Mapping[str, Graph] | None = None,
                  extra: Mapping[str, str] | None = None) -> None:
    """Write ``module``'s state dict with the graph in the metadata, and ``data`` (how the
    inputs were prepared, see :mod:`engine.export.preprocessing`) when known. ``extra``:
    more metadata entries (a vision task's ``layerforge.task``)."""
    from safetensors.torch import save

    from engine.export.preprocessing import metadata

    tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    meta = {
        "format": "pt",
        META_FORMAT: FORMAT_VERSION,
        META_GRAPH: graph.model_dump_json(),
        META_NAME: graph_name,
        META_INPUTS: json.dumps([spec_json(s) for s in analysis.input_specs()]),
        META_OUTPUTS: json.dumps([spec_json(s) for s in analysis.output_specs()]),
        META_TRAINED: "true" if trained else "false",
        **metadata(data),
        **(extra or {}),
    }
    used = descendants(library, graph_name) if library else []
    if used:
        meta[META_COMPOSITES] = json.dumps(
            {name: library[name].model_dump(mode="json") for name in used if name in library})
    # serialised in memory and written by Python, so a full disk is an OSError (safetensors'
    # own writer reports it as a SafetensorError)
    Path(path).write_bytes(save(tensors, metadata=meta))


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The LayerForge metadata of a safetensors file (raises ExportError if it has none)."""
    from safetensors import SafetensorError, safe_open

    from engine.export.common import ExportError

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise ExportError(f"{path}: not a readable safetensors file ({e})") from None
    if META_GRAPH not in meta or META_NAME not in meta:
        raise ExportError(f"{path}: has no LayerForge graph in its metadata (it was not "
                          "written by `layerforge export --format safetensors`)")
    if meta.get(META_FORMAT) != FORMAT_VERSION:
        raise ExportError(f"{path}: LayerForge weights format {meta.get(META_FORMAT)!r} is "
                          f"not supported (this version reads {FORMAT_VERSION})")
    return meta


def load_model(path: str | os.PathLike[str]):
    """Rebuild the network saved by the safetensors export: an ``nn.Module`` in eval mode
    with the saved weights. Its forward takes the graph's inputs in order."""
    from pydantic import ValidationError
    from safetensors.torch import load_file

    from engine.compile import CompileError, compile_graph
    from engine.export.common import ExportError, load_weights

    meta = read_metadata(path)
    text = meta[META_GRAPH]
    if len(text) > MAX_GRAPH_JSON:
        raise ExportError(f"{path}: the graph in the metadata is too large")
    try:
        graph = Graph.model_validate_json(text)
    except (ValidationError, ValueError) as e:
        raise ExportError(f"{path}: the graph in the metadata is not valid ({e})") from None
    name = meta[META_NAME]
    library = _composites(meta, path)
    library[name] = graph
    try:
        module = compile_graph(graph, name, library=library)
    except CompileError as e:
        raise ExportError(f"{path}: the graph in the metadata has errors:\n{e}") from None
    load_weights(module, load_file(str(path)), str(path))
    return module.eval()


def _composites(meta: dict[str, str], path) -> dict[str, Graph]:
    """The composite graphs recorded beside the graph (none in files without composites)."""
    from pydantic import ValidationError

    from engine.export.common import ExportError

    text = meta.get(META_COMPOSITES)
    if not text:
        return {}
    if len(text) > MAX_GRAPH_JSON:
        raise ExportError(f"{path}: the composite graphs in the metadata are too large")
    try:
        raw = json.loads(text)
        return {str(k): Graph.model_validate(v) for k, v in raw.items()}
    except (ValidationError, ValueError, AttributeError, TypeError) as e:
        raise ExportError(f"{path}: the composite graphs in the metadata are not valid "
                          f"({e})") from None
