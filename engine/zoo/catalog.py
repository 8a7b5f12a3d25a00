"""The ready-made pretrained backbones of the palette's "Pretrained" family.

Each :class:`ZooEntry` names a Hugging Face Hub checkpoint pinned to a revision, the
architecture module that builds it from our blocks, the input it was trained on and what
its card shows. :func:`composite_graph` builds the backbone as a composite graph with its
weights reference, preprocessing and card filled in. Listing the entries imports neither
torch nor huggingface_hub, so the palette shows them before either loads.

Revisions: a 40-hex commit where the checkpoint's commit could be confirmed, else "main"
(the ref is resolved to a commit when the weights are fetched, and that commit is what a
project imported from the Hub records).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.project import Graph, Preprocess, PretrainedInfo, WeightsRef

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class ZooEntry:
    """One pretrained backbone: where its weights are, what it expects, what its card says.

    ``params`` counts the whole published classifier (backbone and ImageNet head);
    ``config`` holds the checkpoint's config.json values that differ from the
    architecture module's ``DEFAULT_CONFIG`` (ResNet-18 and ResNet-50 share a module).
    """

    key: str
    title: str
    arch: str  # Hugging Face model_type = the engine.zoo module
    repo: str  # "microsoft/resnet-18"
    revision: str  # a commit sha, or "main" where none could be confirmed
    licence: str
    params: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    accuracy: str
    source: str
    config: Mapping[str, Any] = field(default_factory=dict)
    file: str = "model.safetensors"

    @property
    def hub_source(self) -> str:
        """The WeightsRef source: ``hf:OWNER/NAME``."""
        return f"hf:{self.repo}"

    @property
    def params_text(self) -> str:
        """The parameter count in words: "11.7M"."""
        return f"{self.params / 1e6:.1f}M"


ENTRIES: tuple[ZooEntry, ...] = (
    ZooEntry(
        key="resnet18", title="ResNet-18", arch="resnet", repo="microsoft/resnet-18",
        revision="main", licence="Apache-2.0", params=11_689_512, image_size=224,
        mean=IMAGENET_MEAN, std=IMAGENET_STD,
        accuracy="ImageNet-1k (the model card states no accuracy figure)",
        source="He et al. 2015, Deep Residual Learning for Image Recognition; weights by "
               "Microsoft on the Hugging Face Hub (microsoft/resnet-18)",
        config={"layer_type": "basic", "depths": [2, 2, 2, 2],
                "hidden_sizes": [64, 128, 256, 512], "embedding_size": 64},
    ),
    ZooEntry(
        key="resnet50", title="ResNet-50", arch="resnet", repo="microsoft/resnet-50",
        revision="34c2154c194f829b11125337b98c8f5f9965ff19", licence="Apache-2.0",
        params=25_557_032, image_size=224, mean=IMAGENET_MEAN, std=IMAGENET_STD,
        accuracy="ImageNet-1k (the model card states no accuracy figure)",
        source="He et al. 2015, Deep Residual Learning for Image Recognition (v1.5); weights "
               "by Microsoft on the Hugging Face Hub (microsoft/resnet-50)",
        config={"layer_type": "bottleneck", "depths": [3, 4, 6, 3],
                "hidden_sizes": [256, 512, 1024, 2048], "embedding_size": 64},
    ),
    ZooEntry(
        key="convnext_tiny", title="ConvNeXt-Tiny", arch="convnext",
        repo="facebook/convnext-tiny-224", revision="main", licence="Apache-2.0",
        params=28_589_128, image_size=224, mean=IMAGENET_MEAN, std=IMAGENET_STD,
        accuracy="ImageNet-1k top-1 82.1% (ConvNeXt paper, Table 1)",
        source="Liu et al. 2022, A ConvNet for the 2020s; weights by Meta AI on the Hugging "
               "Face Hub (facebook/convnext-tiny-224)",
    ),
    ZooEntry(
        key="mobilenet_v2", title="MobileNetV2", arch="mobilenet_v2",
        repo="google/mobilenet_v2_1.0_224", revision="main", licence="other (see the model card)",
        params=3_506_153, image_size=224, mean=HALF, std=HALF,
        accuracy="ImageNet-1k top-1 72.0% (MobileNetV2 paper, Table 4; 1001 classes with "
                 "background)",
        source="Sandler et al. 2018, MobileNetV2: Inverted Residuals and Linear Bottlenecks; "
               "weights by Google on the Hugging Face Hub (google/mobilenet_v2_1.0_224)",
    ),
    ZooEntry(
        key="efficientnet_b0", title="EfficientNet-B0", arch="efficientnet",
        repo="google/efficientnet-b0", revision="f86b650049699f1cf772edd370d7ea0382f0941f",
        licence="Apache-2.0", params=5_288_548, image_size=224,
        # the processor divides by std twice (include_top): ImageNet's std in effect
        mean=IMAGENET_MEAN, std=IMAGENET_STD,
        accuracy="ImageNet-1k top-1 77.1% (EfficientNet paper, Table 2)",
        source="Tan and Le 2019, EfficientNet: Rethinking Model Scaling for CNNs; weights by "
               "Google on the Hugging Face Hub (google/efficientnet-b0)",
    ),
    ZooEntry(
        key="vit_b16", title="ViT-B/16", arch="vit", repo="google/vit-base-patch16-224",
        revision="3f49326eb077187dfe1c2a2bb15fbd74e6ab91e3", licence="Apache-2.0",
        params=86_567_656, image_size=224, mean=HALF, std=HALF,
        accuracy="ImageNet-1k after ImageNet-21k pre-training (the model card refers to the "
                 "paper's tables 2 and 5)",
        source="Dosovitskiy et al. 2020, An Image is Worth 16x16 Words; weights by Google on the "
               "Hugging Face Hub (google/vit-base-patch16-224)",
    ),
)

BY_KEY: dict[str, ZooEntry] = {e.key: e for e in ENTRIES}


def entry(key: str) -> ZooEntry:
    """The entry named ``key``; :class:`~engine.zoo.ZooError` lists the keys otherwise."""
    found = BY_KEY.get(key)
    if found is None:
        from engine.zoo import ZooError

        raise ZooError(f"there is no pretrained model {key!r} in the zoo; choose one of "
                       f"{', '.join(BY_KEY)}")
    return found


def entry_config(e: ZooEntry) -> dict[str, Any]:
    """The checkpoint's config: the architecture's default with the entry's values on top
    (imports the architecture module)."""
    from engine.zoo import arch_module

    return {**dict(arch_module(e.arch).DEFAULT_CONFIG), **dict(e.config)}


def preprocess_of(e: ZooEntry) -> Preprocess:
    return Preprocess(image_size=e.image_size, mean=list(e.mean), std=list(e.std))


def info_of(e: ZooEntry) -> PretrainedInfo:
    return PretrainedInfo(title=e.title, source=e.source, licence=e.licence, accuracy=e.accuracy)


def weights_of(e: ZooEntry, sha256: str = "") -> WeightsRef:
    from engine.zoo import arch_module

    return WeightsRef(source=e.hub_source, revision=e.revision, file=e.file, sha256=sha256,
                      arch=e.arch, prefix=arch_module(e.arch).PREFIX, entry=e.key)


def local_weights(e: ZooEntry, path: str) -> WeightsRef:
    """The entry's checkpoint read from a local ``.safetensors`` file (the Hub's file kept
    elsewhere), checked now: it must hold every tensor the backbone needs, in the Hub's
    names, with the right shapes. Raises :class:`~engine.zoo.ZooError` naming the file."""
    from pathlib import Path

    from engine.zoo import ZooError
    from engine.zoo.common import MappingError
    from engine.zoo.hub import file_sha256
    from engine.zoo.weights import composite_state, expected_shapes

    file = Path(path).expanduser().resolve()
    ref = weights_of(e).model_copy(update={"source": str(file), "revision": "",
                                           "file": file.name, "sha256": ""})
    try:
        state = composite_state(ref, e.key)  # reads and maps the tensors
    except (ZooError, MappingError) as err:
        raise ZooError(f"{file} is not a {e.title} checkpoint in the Hugging Face layout: "
                       f"{err}") from None
    graph = composite_graph(e)
    want = expected_shapes({e.key: graph}, graph, e.key)
    wrong = [k for k, shape in want.items() if k in state and tuple(state[k].shape) != shape]
    if wrong:
        raise ZooError(f"{file}: {wrong[0]} has shape {list(state[wrong[0]].shape)} but "
                       f"{e.title} needs {list(want[wrong[0]])}: this is not a {e.title} "
                       "checkpoint")
    return ref.model_copy(update={"sha256": file_sha256(file)})


def fetch_weights(e: ZooEntry, *, progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None) -> WeightsRef:
    """Download (or find in the cache) the entry's weights; the weights reference pinned
    to the commit they came from, with their sha256, for ``composite_graph(e).weights``.
    Raises :class:`~engine.zoo.ZooError` (offline and not cached, cancelled, ...) with a
    sentence."""
    from engine.zoo import hub

    paths = hub.fetch(e.repo, e.revision, [e.file], progress=progress, cancel=cancel)
    commit = hub.resolved_commit(paths[-1]) or e.revision
    return weights_of(e, hub.blob_sha256(paths[-1])).model_copy(update={"revision": commit})


def composite_graph(e: ZooEntry, image_size: int | None = None) -> Graph:
    """The entry's backbone as a composite graph (Input "image" [3,S,S] -> ... -> Output
    "features" [C]) with its weights reference, preprocessing and card filled in.

    Builds from the architecture module (our blocks only; no torch needed). ``image_size``
    overrides the checkpoint's own (a ViT's position embeddings fix it; the others are
    convolutional and pool at the end)."""
    from engine.zoo import arch_module

    arch = arch_module(e.arch)
    graph = arch.build(entry_config(e), image_size or e.image_size)
    return graph.model_copy(update={
        "weights": weights_of(e),
        "preprocess": preprocess_of(e).model_copy(
            update={"image_size": image_size or e.image_size}),
        "info": info_of(e),
    })
