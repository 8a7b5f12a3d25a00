"""The U-Net and detector templates with a pretrained zoo backbone as their encoder.

A composite has one output, so the backbone is cut into a chain of stage composites
(:func:`engine.zoo.stages.backbone_stages`: ``stem``, ``layer1`` ... ``layer4`` for a
ResNet), each carrying the backbone's checkpoint and taking its own blocks' tensors from
it. The decoder climbs back from the deepest stage: at each step it doubles the size
(a 2x2 transposed convolution, as in the U-Net template), joins the stage output of that
stride (Concat: the skip connection) and mixes them with two 3x3 convolutions. The U-Net climbs to the image's size and ends in a
SegmentationHead; the detector stops at its head's stride (CenterNet's usual 4) and ends in
a DetectionHead.

As in the transfer-learning template, the encoder starts frozen (its BatchNorm statistics
kept) while the fresh decoder learns, then trains from ``training.unfreeze_epoch`` at a
tenth of the learning rate; the data is normalised with the backbone's mean and std.
Torch-free: the graphs are built from the blocks' analytic shapes.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.blocks.base import TensorSpec
from engine.errors import UserError
from engine.project import Edge, Node, Project
from engine.zoo.catalog import entry
from engine.zoo.common import GraphBuilder, conv_bn_act
from engine.zoo.stages import Stage, backbone_stages

#: decoder channels after joining the skip at stride 16, 8, 4, 2 and 1
DECODER_CHANNELS = {16: 256, 8: 128, 4: 64, 2: 32, 1: 16}
#: the encoder trains from this epoch on (1-based), at ENCODER_LR_MULT of the learning rate
UNFREEZE_EPOCH = 3
ENCODER_LR_MULT = 0.1


def unet_with_encoder(project: Project, entry_key: str) -> Project:
    """The U-Net template ``project`` with zoo entry ``entry_key``'s backbone as its
    encoder: its dataset, task and training settings and its head's class count, with a new
    model graph. Raises :class:`~engine.errors.UserError` naming what does not fit."""
    e = entry(entry_key)
    size = _image_size(project)
    head, out = _head(project, "SegmentationHead")
    b, stages, outputs = _encoder(project, entry_key, size)
    x = _decoder(b, outputs, to_stride=1)
    x = b.add("SegmentationHead", head.id, {"classes": head.params.get("classes", 2)}, [x])
    b.add("Output", out, {}, [x])
    notes = (f"U-Net with a pretrained {e.title} encoder: the backbone is cut into "
             f"{len(stages)} stage composites ({_stage_list(stages)}) that share its "
             "checkpoint, and each stage's output also feeds the decoder (the skip "
             "connections), which doubles the size at each step back to the image's.")
    return _pretrained_project(project, e.title, b, stages, f"U-Net, pretrained {e.title} "
                               "encoder", notes)


def detector_with_backbone(project: Project, entry_key: str) -> Project:
    """The detector template ``project`` with zoo entry ``entry_key``'s backbone: the
    decoder climbs back to the stride of the template's DetectionHead (4 when it cannot
    be told) and ends in a DetectionHead with the template's classes and width."""
    e = entry(entry_key)
    size = _image_size(project)
    head, out = _head(project, "DetectionHead")
    b, stages, outputs = _encoder(project, entry_key, size)
    stride = _head_stride(project, head, set(outputs))
    x = _decoder(b, outputs, to_stride=stride)
    x = b.add("DetectionHead", head.id, dict(head.params), [x])
    b.add("Output", out, {}, [x])
    notes = (f"Anchor-free detector (CenterNet) with a pretrained {e.title} backbone: the "
             f"backbone is cut into {len(stages)} stage composites ({_stage_list(stages)}) "
             "that share its checkpoint; the decoder climbs back from the deepest one, joining "
             f"each stage's output, to 1/{stride} of the image's size, where the head predicts "
             "a centre heatmap per class and each box's size and offset.")
    return _pretrained_project(project, e.title, b, stages, f"Detector, pretrained {e.title} "
                               "backbone", notes)


def _image_size(project: Project) -> int:
    """The side of the encoder's input: the template's square image side rounded up to a
    multiple of 32 (the deepest stage's stride), at least 64."""
    model = project.graphs.get("model")
    inputs = [n for n in (model.nodes if model else []) if n.type == "Input"]
    shape = inputs[0].params.get("shape") if inputs else None
    if not (isinstance(shape, list) and len(shape) == 3 and shape[1] == shape[2]
            and isinstance(shape[1], int) and shape[1] > 0):
        raise UserError(f"project {project.name!r}: the model's input {shape} is not a square "
                        "image [C, S, S]; start from the template whose input is one")
    return max(64, -(-shape[1] // 32) * 32)


def _head(project: Project, head_type: str) -> tuple[Node, str]:
    """The template's head node and the id of the Output it feeds (kept in the new graph,
    so the pretrained variant names its blocks as the template does)."""
    model = project.graphs["model"]
    heads = [n for n in model.nodes if n.type == head_type]
    if not heads:
        raise UserError(f"project {project.name!r}: the model graph has no {head_type}; start "
                        f"from the template that ends in one")
    out = next((e.dst for e in model.edges if e.src == heads[0].id
                and model.node(e.dst).type == "Output"), "out")
    return heads[0], out


def _head_stride(project: Project, head: Node, strides: set[int]) -> int:
    """The template's stride at its DetectionHead (4 when it is not one of ``strides``)."""
    from engine.shapes import analyze_graph

    model = project.graphs["model"]
    a = analyze_graph(model, "model", project.graphs)
    image = next(n for n in model.nodes if n.type == "Input").params["shape"][1]
    ins = a.nodes[head.id].ins if head.id in a.nodes else []
    side = ins[0].shape[1] if ins and len(ins[0].shape) == 3 else None
    stride = image // side if side else 0
    return stride if stride in strides and stride > 1 else 4


def _encoder(project: Project, entry_key: str,
             size: int) -> tuple[GraphBuilder, list[Stage], dict[int, str]]:
    """A builder holding Input ``image`` and the chain of frozen stage Group nodes, the
    stages, and each stage's Group node id by its output stride."""
    stages = backbone_stages(entry_key, size)
    b = GraphBuilder()
    src = b.add("Input", "image", {"shape": [3, size, size]})
    outputs = {}
    for s in stages:
        nid = s.name.removeprefix(f"{entry_key}_")
        port = next(n.id for n in s.graph.nodes if n.type == "Input")
        b.nodes.append(Node(id=nid, type="Group", params={"graph": s.name}, trainable=False,
                            lr_mult=ENCODER_LR_MULT))
        b.edges.append(Edge(src=src, dst=nid, dst_port=port))
        b.specs[nid] = TensorSpec((s.channels, size // s.stride, size // s.stride))
        src = outputs[s.stride] = nid
    return b, stages, outputs


def _decoder(b: GraphBuilder, outputs: dict[int, str], to_stride: int) -> str:
    """From the deepest stage up to ``to_stride``: a 2x2 transposed convolution doubles the
    size (as in the U-Net template), Concat joins the stage output of
    that stride (``outputs``: stride -> Group node id, where there is one), then two
    conv-BN-ReLU; returns the last block's id."""
    stride = max(outputs)
    x = outputs[stride]
    while stride > to_stride:
        stride //= 2
        tag = f"up{stride}"
        width = DECODER_CHANNELS.get(stride, 16)
        x = b.add("ConvTranspose2d", f"{tag}_up", {"out_channels": width, "kernel_size": 2,
                                                   "stride": 2, "padding": 0}, [x])
        if stride in outputs:
            x = b.add("Concat", f"{tag}_skip", {"inputs": 2}, [x, outputs[stride]])
        x = conv_bn_act(b, x, tag, width, 3, suffix="1")
        x = conv_bn_act(b, x, tag, width, 3, suffix="2")
    return x


def _stage_list(stages: Sequence[Stage]) -> str:
    return ", ".join(f"{s.name.rpartition('_')[2]} 1/{s.stride}" for s in stages)


def _pretrained_project(base: Project, title: str, b: GraphBuilder, stages: Sequence[Stage],
                        name: str, notes: str) -> Project:
    """``base`` with the new model graph, the stage composites, the backbone's
    normalisation and the two-phase fine-tuning of the transfer template."""
    graph = b.graph(layout=False)
    graphs = {"model": graph, **{s.name: s.graph for s in stages}}
    from engine.layout import apply_layout
    from engine.layout.ushape import apply_u_layout
    from engine.shapes import analyze_graph

    # encoder down the left, decoder up the right, one row per resolution
    if not apply_u_layout(graph, analyze_graph(graph, "model", graphs)):
        apply_layout(graph)
    pre = stages[0].graph.preprocess
    assert pre is not None  # the catalog fills it in
    side = next(n for n in graph.nodes if n.type == "Input").params["shape"][1]
    dataset = base.dataset.model_copy(update={"mean": list(pre.mean), "std": list(pre.std),
                                              "normalize": True, "grayscale": False,
                                              "image_size": side})
    frozen = [n.id for n in graph.nodes if n.type == "Group"]
    training = base.training.model_copy(update={
        "freeze_bn": True, "unfreeze_epoch": min(UNFREEZE_EPOCH, base.training.epochs),
        "unfreeze": frozen})
    notes += (f"\nThe encoder starts frozen, so the first {training.unfreeze_epoch - 1} "
              f"epochs train only the decoder and head; from epoch {training.unfreeze_epoch} "
              f"the encoder trains too, at a tenth of the learning rate (its blocks' LR "
              f"multiplier {ENCODER_LR_MULT}).\nThe data is normalised with the mean and "
              f"standard deviation {title} was trained with (Dataset panel, Preparation); "
              f"image sides must be a multiple of {max(s.stride for s in stages)} (the "
              "deepest stage's stride).\n"
              f"The weights come from the Hugging Face Hub on first use and are cached for "
              "offline use.")
    return base.model_copy(update={"name": name, "graphs": graphs, "dataset": dataset,
                                   "training": training, "notes": notes, "runs": []},
                           deep=True)


#: the shipped pretrained templates: name -> (base template, generator, zoo entry)
PRETRAINED_TEMPLATES = {
    "unet_resnet18": ("unet", unet_with_encoder, "resnet18"),
    "detector_resnet18": ("detector", detector_with_backbone, "resnet18"),
}


def pretrained_template(name: str) -> Project:
    """The pretrained template ``name`` (a key of :data:`PRETRAINED_TEMPLATES`) made from
    its base template now. The files in resources/examples are this function's output (a
    test keeps them equal); after changing a base template, rewrite them with
    ``python -m engine.vision.encoders``."""
    from engine.templates import load_template

    base, make, key = PRETRAINED_TEMPLATES[name]
    return make(load_template(base), key)


def write_pretrained_templates() -> list[str]:
    """Rewrite every pretrained template whose base template exists; their paths."""
    from engine.project import FILE_SUFFIX, save_project
    from engine.templates import EXAMPLES, list_templates

    written = []
    for name, (base, _, _) in PRETRAINED_TEMPLATES.items():
        if base in list_templates():
            path = EXAMPLES / f"{name}{FILE_SUFFIX}"
            save_project(pretrained_template(name), path)
            written.append(str(path))
    return written


__all__ = ["PRETRAINED_TEMPLATES", "detector_with_backbone", "pretrained_template",
           "unet_with_encoder", "write_pretrained_templates"]


if __name__ == "__main__":
    print("\n".join(write_pretrained_templates()))
