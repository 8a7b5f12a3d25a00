"""``layerforge import hf:OWNER/NAME``: a Hub image classifier as an editable project.

The importer fetches the model's ``config.json``, ``preprocessor_config.json`` (defaults
when absent) and ``model.safetensors``, picks the architecture from ``model_type`` and
builds a project of two graphs: ``backbone`` (the architecture in our blocks, its weights
referenced at the resolved commit with their sha256) and ``model``: Input -> the backbone
as a composite block -> Linear ``head`` -> Output. The checkpoint's classifier goes into a
safetensors file next to the project, which ``training.init_from`` names, so the project
predicts like the Hub model before any training. The dataset takes the checkpoint's image
size, mean and std; the class names (``id2label``) go into the project notes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.naming import make_identifier
from engine.project import (
    DatasetSpec,
    Edge,
    Graph,
    Node,
    Preprocess,
    PretrainedInfo,
    Project,
    TaskSpec,
    TrainingConfig,
    WeightsRef,
)
from engine.zoo import ZooError

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
BACKBONE = "backbone"
HEAD_SUFFIX = ".head.safetensors"


@dataclass
class HubImport:
    """What the importer made: the project, the head's tensors and lines for the user."""

    project: Project
    head: dict[str, Any]
    repo: str
    commit: str
    messages: list[str] = field(default_factory=list)


def preprocessing(pre: dict[str, Any], config: dict[str, Any],
                  where: str = "preprocessor_config.json") -> Preprocess:
    """Image size, mean and std from a Hugging Face image processor config.

    The size is the crop the model sees (``crop_size`` when the processor centre-crops,
    else ``size``: height, or shortest edge), else the model config's ``image_size``, else
    224. EfficientNet's processor divides by ``image_std`` twice when ``include_top`` is set,
    so its effective std is the square."""
    mean = _triple(pre.get("image_mean", IMAGENET_MEAN), where, "image_mean")
    std = _triple(pre.get("image_std", IMAGENET_STD), where, "image_std")
    if any(s <= 0 for s in std):
        raise ZooError(f"{where}: image_std must be positive, not {std}")
    if "EfficientNet" in str(pre.get("image_processor_type", "")) and pre.get("include_top", True):
        std = [s * s for s in std]
    size = None
    crop = pre.get("crop_size")
    if crop is not None and pre.get("do_center_crop", True):
        size = _side(crop)
    if size is None:
        size = _side(pre.get("size"))
    if size is None:
        size = _side(config.get("image_size"))
    size = size or 224
    if not 4 <= size <= 1024:
        raise ZooError(f"{where}: the image size {size} is outside what LayerForge takes (4-1024)")
    return Preprocess(image_size=size, mean=mean, std=std)


def _triple(value: Any, where: str, name: str) -> list[float]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = [value] * 3
    if (not isinstance(value, list) or len(value) != 3
            or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                       for v in value)):
        raise ZooError(f"{where}: {name} must be three numbers (one per RGB channel), not {value!r}")
    return [float(v) for v in value]


def _side(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, dict):
        for key in ("height", "shortest_edge"):
            v = value.get(key)
            if isinstance(v, int) and not isinstance(v, bool):
                return v
    if isinstance(value, list) and value and isinstance(value[0], int):
        return value[0]
    return None


def class_names(config: dict[str, Any], count: int) -> list[str]:
    """``id2label`` in index order (``class N`` where a label is missing)."""
    labels = config.get("id2label")
    names = [f"class {i}" for i in range(count)]
    if isinstance(labels, dict):
        for k, v in labels.items():
            try:
                i = int(k)
            except (TypeError, ValueError):
                continue
            if 0 <= i < count:
                names[i] = str(v)
    return names


def import_hub(model_id: str, revision: str = "main", *,
               progress: Callable[[int, int], None] | None = None,
               cancel: Callable[[], bool] | None = None) -> HubImport:
    """Fetch ``hf:OWNER/NAME`` and build its project (nothing is written here)."""
    from safetensors.torch import load_file

    from engine.zoo import arch_module, hub

    repo = hub.split_source(model_id)
    revision = revision or "main"
    config_path = hub.fetch(repo, revision, ["config.json"])[0]
    commit = hub.resolved_commit(config_path) or revision
    config = _json(config_path, f"config.json of hf:{repo}")
    model_type = config.get("model_type")
    if not isinstance(model_type, str):
        raise ZooError(f"config.json of hf:{repo} names no model_type; it is not a transformers "
                       "model LayerForge can import")
    arch = arch_module(model_type)
    channels = config.get("num_channels", 3)
    if channels != 3:
        raise ZooError(f"hf:{repo} takes {channels}-channel images; LayerForge imports RGB "
                       "(3-channel) image models")
    try:
        pre_path = hub.fetch(repo, commit, ["preprocessor_config.json"])[0]
        pre = _json(pre_path, f"preprocessor_config.json of hf:{repo}")
        pre_note = ""
    except ZooError as e:
        if "has no file" not in str(e):
            raise
        pre, pre_note = {}, " (no preprocessor_config.json: ImageNet's mean and std assumed)"
    prep = preprocessing(pre, config, f"preprocessor_config.json of hf:{repo}")
    fixed = config.get("image_size")
    if model_type == "vit" and isinstance(fixed, int) and fixed != prep.image_size:
        # its position embeddings are made for the config's size
        prep = prep.model_copy(update={"image_size": fixed})
    weights_path = hub.fetch(repo, commit, ["model.safetensors"], progress=progress,
                             cancel=cancel)[0]
    sha = hub.blob_sha256(weights_path)
    state = load_file(str(weights_path))

    backbone = arch.build(config, prep.image_size)
    stripped = {k[len(arch.PREFIX):]: v for k, v in state.items() if k.startswith(arch.PREFIX)}
    if not stripped:
        raise ZooError(f"model.safetensors of hf:{repo} has no tensor named {arch.PREFIX}...; it "
                       f"is not a {model_type} image classifier with a backbone LayerForge knows")
    arch.map_keys(stripped, config)  # refuses a checkpoint that does not fit, naming tensors
    head = _head(state, arch.HEAD, repo)
    features = _features(backbone)
    classes, width = head["head.weight"].shape
    if width != features:
        raise ZooError(f"hf:{repo}: its classifier takes {width} features but the backbone gives "
                       f"{features}; the checkpoint does not match its config.json")
    names = class_names(config, classes)
    title = repo.split("/")[1]
    backbone = backbone.model_copy(update={
        "weights": WeightsRef(source=f"hf:{repo}", revision=commit, file="model.safetensors",
                              sha256=sha, arch=model_type, prefix=arch.PREFIX),
        "preprocess": prep,
        "info": PretrainedInfo(
            title=title, source=f"Hugging Face Hub: {repo} at commit {commit}",
            licence="see the model card on the Hub",
            accuracy="as reported on the model card (not recorded in the checkpoint)"),
    })
    project = Project(
        name=title,
        graphs={"model": model_graph(prep.image_size, classes), BACKBONE: backbone},
        dataset=DatasetSpec(source="folder", path="", image_size=prep.image_size,
                            mean=prep.mean, std=prep.std),
        task=TaskSpec(kind="classification"),
        training=TrainingConfig(lr=1e-4, epochs=5),
        notes=_notes(repo, commit, names),
    )
    messages = [
        f"hf:{repo} at commit {commit}: {model_type} backbone, {classes} classes, "
        f"{prep.image_size}x{prep.image_size} RGB input{pre_note}",
        f"normalisation: mean {prep.mean}, std {prep.std} (set on the dataset)",
    ]
    return HubImport(project, head, repo, commit, messages)


def model_graph(size: int, classes: int) -> Graph:
    """Input ``image`` -> Group ``backbone`` -> Linear ``head`` -> Output ``logits``."""
    from engine.layout import apply_layout

    graph = Graph(
        nodes=[
            Node(id="image", type="Input", params={"shape": [3, size, size]}),
            Node(id=BACKBONE, type="Group", params={"graph": BACKBONE}),
            Node(id="head", type="Linear", params={"out_features": classes}),
            Node(id="logits", type="Output"),
        ],
        edges=[Edge(src="image", dst=BACKBONE, dst_port="image"),
               Edge(src=BACKBONE, dst="head"), Edge(src="head", dst="logits")],
    )
    apply_layout(graph, "right")
    return graph


def _features(backbone: Graph) -> int:
    from engine.shapes import analyze_graph

    analysis = analyze_graph(backbone, BACKBONE)
    if not analysis.ok:  # a defect of the architecture module
        raise ZooError(f"the {BACKBONE} graph has errors: {analysis.errors[0]}")
    spec = analysis.output_specs()[0]
    assert spec is not None and len(spec.shape) == 1 and spec.shape[0] is not None
    return int(spec.shape[0])


def _head(state: dict[str, Any], prefix: str, repo: str) -> dict[str, Any]:
    weight, bias = state.get(f"{prefix}.weight"), state.get(f"{prefix}.bias")
    if weight is None or weight.dim() != 2:
        raise ZooError(f"model.safetensors of hf:{repo} has no classifier {prefix}.weight; "
                       "import an image-classification model (…ForImageClassification)")
    if bias is None:
        import torch

        bias = torch.zeros(weight.shape[0], dtype=weight.dtype)
    return {"head.weight": weight.contiguous().clone(), "head.bias": bias.contiguous().clone()}


def _json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ZooError(f"{what}: cannot read it ({e})") from None
    if not isinstance(data, dict):
        raise ZooError(f"{what}: expected a JSON object")
    return data


def _notes(repo: str, commit: str, names: list[str]) -> str:
    shown = "\n".join(f"{i}: {n}" for i, n in enumerate(names))
    return (f"Imported from the Hugging Face Hub: {repo} at commit {commit}.\n"
            f"The head predicts {len(names)} classes (id2label), in output order:\n{shown}\n")


def default_out(repo: str) -> Path:
    """``NAME.lforge`` in the current folder, from the repository's name."""
    return Path(make_identifier(repo.split("/")[-1], fallback="model") + ".lforge")


def write(result: HubImport, out: Path) -> Path:
    """Write the project and its head weights (``NAME.head.safetensors`` beside it, named by
    ``training.init_from`` relative to the project), both or neither."""
    from safetensors.torch import save_file

    from engine.export import ExportError
    from engine.export.common import staged
    from engine.project import ProjectError, save_project

    head_path = out.with_name(out.stem + HEAD_SUFFIX)
    project = result.project.model_copy(deep=True)
    project.training.init_from = head_path.name
    meta = {"source": f"hf:{result.repo}", "revision": result.commit,
            "layerforge.note": "the classifier head of the imported model"}
    try:
        with staged(out.parent if str(out.parent) else Path()) as stage:
            save_project(project, stage.path(out.name))
            save_file(result.head, str(stage.path(head_path.name)), metadata=meta)
    except ProjectError as e:
        raise ExportError(str(e)) from None
    return head_path
