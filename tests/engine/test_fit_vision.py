"""The fit between segmentation and detection networks and their data: what the check says,
and what Fit model to data changes (issue 22)."""

from __future__ import annotations

import pytest

from engine.data.facts import DataFacts
from engine.project import DatasetSpec, Edge, Graph, Node, Project, TaskSpec
from engine.templates import load_template
from engine.train.fit import FIT_MODEL, check_fit, fit_project, fitted_data

SEG_NAMES = ("background", "circle", "square", "triangle", "cross", "star", "ring")


def seg_facts(side: int = 48, classes: int = 7) -> DataFacts:
    names = SEG_NAMES[:classes] if classes <= len(SEG_NAMES) else tuple(
        f"class {k}" for k in range(classes))
    return DataFacts("builtin:shapes_seg", "image", (3, side, side), "float", "mask", names,
                     target_shape=(side, side))


def det_facts(side: int = 64, classes: int = 6) -> DataFacts:
    return DataFacts("builtin:shapes_det", "image", (3, side, side), "float", "boxes",
                     tuple(f"shape {k}" for k in range(classes)), target_shape=(4, 5))


def unet() -> Project:
    project = load_template("unet")
    project.dataset = DatasetSpec(name="shapes_seg")
    return project


def errors(project: Project, facts: DataFacts) -> list:
    return [p for p in check_fit(project, facts) if p.severity == "error"]


# -- segmentation -------------------------------------------------------------------------


def test_the_unet_template_fits_its_scenes_as_it_is() -> None:
    project = unet()
    side = project.graphs["model"].node("image").params["shape"][1]
    assert check_fit(project, seg_facts(side)) == []


def test_more_classes_than_the_head_scores_is_an_error_on_the_head_that_fit_repairs() -> None:
    project = unet()
    facts = seg_facts(48, classes=9)
    (problem,) = check_fit(project, facts)
    assert (problem.node, problem.severity, problem.fix) == ("head", "error", FIT_MODEL)
    assert problem.message == ("gives scores for 7 classes but builtin:shapes_seg has 9 "
                               "classes: set classes to 9")
    assert fit_project(project, facts) == ["model/head: classes set to 9"]
    assert project.graphs["model"].node("head").params["classes"] == 9
    assert check_fit(project, facts) == []


def test_fewer_classes_than_the_head_scores_is_a_warning() -> None:
    (problem,) = check_fit(unet(), seg_facts(48, classes=3))
    assert (problem.node, problem.severity) == ("head", "warning")
    assert "only 3 classes; the extra outputs are wasted: set classes to 3" in problem.message


def test_a_last_convolution_giving_the_scores_gets_the_class_count() -> None:
    graph = Graph(nodes=[Node(id="image", type="Input", params={"shape": [3, 16, 16]}),
                         Node(id="conv", type="Conv2d", params={"out_channels": 8}),
                         Node(id="scores", type="Conv2d", params={"out_channels": 2,
                                                                  "kernel_size": 1,
                                                                  "padding": 0}),
                         Node(id="masks", type="Output")],
                  edges=[Edge(src="image", dst="conv"), Edge(src="conv", dst="scores"),
                         Edge(src="scores", dst="masks")])
    project = Project(graphs={"model": graph}, task=TaskSpec(kind="segmentation"))
    facts = seg_facts(16, classes=5)
    (problem,) = check_fit(project, facts)
    assert problem.node == "scores" and problem.message.endswith("set out_channels to 5")
    assert fit_project(project, facts) == ["model/scores: out_channels set to 5"]
    assert check_fit(project, facts) == []


def test_scores_smaller_than_the_image_say_the_decoder_must_restore_its_size() -> None:
    project = unet()
    graph = project.graphs["model"]
    # skip the last upsampling stage: the head then scores a 24x24 map of a 48x48 image
    for node_id in ("up1", "cat1", "dec1_conv1", "dec1_bn1", "dec1_relu1", "dec1_conv2",
                    "dec1_bn2", "dec1_relu2"):
        graph.nodes = [n for n in graph.nodes if n.id != node_id]
        graph.edges = [e for e in graph.edges if node_id not in (e.src, e.dst)]
    graph.edges.append(Edge(src="dec2_relu2", dst="head"))
    (problem,) = check_fit(project, seg_facts(48))
    assert (problem.node, problem.severity, problem.fix) == ("head", "error", "")
    assert problem.message.startswith("gives scores at 24x24 but the images are 48x48: "
                                      "segmentation needs a score for every pixel")


def test_an_output_that_is_not_a_map_of_scores_is_refused() -> None:
    project = load_template("lenet5")
    project.task = TaskSpec(kind="segmentation")
    facts = DataFacts("x", "image", (1, 28, 28), "float", "mask", ("a", "b"))
    (problem,) = errors(project, facts)
    assert problem.message == ("gives [N, 10] but segmentation gives a score per class for "
                               "each pixel, [N, classes, H, W]: end the network with a "
                               "Segmentation head")


def test_larger_images_are_kept_and_a_size_the_poolings_cannot_halve_is_resized() -> None:
    project = unet()
    fit_project(project, seg_facts(96))
    assert project.dataset.image_size is None  # any multiple of 16 suits this U-Net
    assert project.graphs["model"].node("image").params["shape"] == [3, 96, 96]

    project = unet()
    facts = seg_facts(36)  # 36 -> 18 -> 9 -> 4 -> 2, back up to 8: the skip of 9 misfits
    problems = errors(project, facts)
    assert problems and problems[0].fix == FIT_MODEL
    changes = fit_project(project, facts)
    assert "image size set to 48" in changes[0]
    assert project.dataset.image_size == 48
    assert check_fit(project, fitted_data(project, facts)) == []


# -- targets --------------------------------------------------------------------------------


CLASSES = DataFacts("builtin:shapes", "image", (1, 28, 28), "float", "class",
                    ("circle", "square"))


@pytest.mark.parametrize(("kind", "facts", "words"), [
    ("segmentation", CLASSES, "segmentation needs a mask for each image, but builtin:shapes "
     "has 2 classes: choose data with masks (builtin:shapes_seg"),
    ("detection", CLASSES, "detection needs boxes for each image, but builtin:shapes has 2 "
     "classes: choose data with boxes (builtin:shapes_det"),
    ("classification", seg_facts(), "classification needs class labels, but "
     "builtin:shapes_seg has a mask for each image: set task.kind to segmentation"),
    ("classification", det_facts(), "classification needs class labels, but "
     "builtin:shapes_det has boxes for each image: set task.kind to detection"),
    ("detection", seg_facts(), "detection needs boxes for each image, but builtin:shapes_seg "
     "has a mask for each image: set task.kind to segmentation"),
    ("regression", det_facts(), "set task.kind to detection"),
])
def test_a_task_that_cannot_use_the_targets_says_which_would(kind, facts, words) -> None:
    project = unet()
    project.task = TaskSpec(kind=kind)
    (problem,) = check_fit(project, facts)
    assert (problem.graph, problem.severity, problem.fix) == ("task.kind", "error", "")
    assert words in problem.message
    assert fit_project(project, facts) == []  # nothing to fit: the check says why


# -- detection ------------------------------------------------------------------------------


def detector(side: int = 64, stride: int = 2, classes: int = 6) -> Project:
    """Two stride-2 convolutions (stride 4 in all) and a detection head."""
    nodes = [Node(id="image", type="Input", params={"shape": [3, side, side]}),
             Node(id="c1", type="Conv2d", params={"out_channels": 8, "stride": stride}),
             Node(id="c2", type="Conv2d", params={"out_channels": 8, "stride": 2}),
             Node(id="head", type="DetectionHead", params={"classes": classes, "width": 8}),
             Node(id="maps", type="Output")]
    edges = [Edge(src=a.id, dst=b.id) for a, b in zip(nodes, nodes[1:], strict=False)]
    return Project(graphs={"model": Graph(nodes=nodes, edges=edges)},
                   task=TaskSpec(kind="detection"), dataset=DatasetSpec(name="shapes_det"))


def test_a_detector_at_a_whole_stride_with_its_classes_fits() -> None:
    assert check_fit(detector(), det_facts(64, classes=6)) == []


def test_a_detection_head_with_other_classes_is_fitted_to_the_data() -> None:
    project = detector()
    facts = det_facts(64, classes=3)
    (problem,) = check_fit(project, facts)
    assert (problem.node, problem.severity, problem.fix) == ("head", "error", FIT_MODEL)
    assert problem.message == ("gives 10 channels (3 class heatmaps and 4 box channels make "
                               "7) but builtin:shapes_det has 3 classes: set classes to 3")
    assert fit_project(project, facts) == ["model/head: classes set to 3"]
    assert check_fit(project, facts) == []


def test_maps_that_do_not_divide_the_image_evenly_are_refused() -> None:
    project = detector(stride=3)  # 64 -> 22 -> 11: 64 is no whole multiple of 11
    (problem,) = errors(project, det_facts(64))
    assert problem.node == "head"
    assert problem.message.startswith("gives maps of 11x11 for images of 64x64: the images' "
                                      "sides must be the same whole multiple")


def test_a_detector_without_a_head_is_told_to_end_with_one() -> None:
    project = detector()
    graph = project.graphs["model"]
    graph.nodes = [n for n in graph.nodes if n.id != "head"]
    graph.edges = [e for e in graph.edges if "head" not in (e.src, e.dst)]
    graph.edges.append(Edge(src="c2", dst="maps"))
    (problem,) = errors(project, det_facts(64))
    assert problem.node == "maps"
    assert problem.message.endswith("end the network with a Detection head of 6 classes")
