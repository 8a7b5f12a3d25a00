"""The model zoo: pretrained image backbones built from LayerForge blocks.

One module per architecture, named after the Hugging Face ``config.model_type`` (see
:data:`ARCHES`); each builds the backbone graph from a checkpoint's config and maps the
checkpoint's tensor names onto the graph's node ids. :mod:`engine.zoo.catalog` lists the
ready-made entries, :mod:`engine.zoo.hub` fetches weights from the Hugging Face Hub,
:mod:`engine.zoo.weights` loads them for a project and :mod:`engine.zoo.hf_import` turns a
Hub model into a project.

This package imports nothing heavy: the palette lists the zoo before torch is loaded.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from engine.errors import UserError

#: Hugging Face ``model_type`` -> the module that builds and maps it
ARCHES: dict[str, str] = {
    "resnet": "engine.zoo.resnet",
    "mobilenet_v2": "engine.zoo.mobilenet_v2",
    "efficientnet": "engine.zoo.efficientnet",
    "convnext": "engine.zoo.convnext",
    "vit": "engine.zoo.vit",
}


class ZooError(UserError):
    """A pretrained model cannot be built, fetched or loaded; the message says why."""


def supported() -> str:
    """The supported architectures, as words for a message."""
    return ", ".join(ARCHES)


def arch_module(model_type: str) -> ModuleType:
    """The architecture module for a Hugging Face ``model_type`` (imported on demand).

    Raises :class:`ZooError` naming the supported architectures when there is none."""
    name = ARCHES.get(str(model_type).strip().lower())
    if name is None:
        raise ZooError(f"the architecture {model_type!r} is not supported; LayerForge can build "
                       f"these: {supported()}")
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        raise ZooError(f"the architecture {model_type!r} is not available in this installation "
                       f"({name} is missing); reinstall LayerForge") from None
