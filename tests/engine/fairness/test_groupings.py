"""Groupings give each sample of a split its group in the order the loaded split holds
the samples: a level of an image folder tree, a metadata file, a CSV or texts column;
and clear sentences when they cannot; the dataset's warnings before training."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.fairness import GroupingError, dataset_warnings, group_labels
from engine.project import DatasetSpec, FairnessSpec, Grouping
from engine.templates import load_template
from tests.engine.fairness.fair_data import csv_project, write_csv, write_image_tree


def _folder_project(root: Path, *groupings: Grouping, **fairness):
    p = load_template("mlp")
    p.dataset = DatasetSpec(source="folder", path=str(root), val_fraction=0.25,
                            test_fraction=0.25, split_seed=3)
    p.fairness = FairnessSpec(groupings=list(groupings), **fairness)
    return p


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return write_image_tree(tmp_path_factory.mktemp("tree") / "images")


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_folder_levels_follow_the_loaded_split_order(tree: Path, split: str):
    from engine.data import load_dataset

    p = _folder_project(tree, Grouping(name="class", kind="folder", level=0),
                        Grouping(name="site", kind="folder", level=1))
    bundle = load_dataset(p.dataset)
    data = getattr(bundle, split)
    groups = group_labels(p, split, len(data))
    # level 0 is the class folder: it must equal the loaded labels, sample by sample
    assert groups["class"] == [bundle.classes[int(i)] for i in data.y]
    assert set(groups["site"]) <= {"indoor", "outdoor"}
    assert len(groups["site"]) == len(data)


def test_images_in_sub_folders_belong_to_their_class(tree: Path):
    from engine.data import load_dataset

    bundle = load_dataset(_folder_project(tree).dataset)
    sizes = len(bundle.train) + len(bundle.val) + len(bundle.test)
    assert bundle.classes == ["cat", "dog"] and sizes == 24


def test_a_level_deeper_than_the_tree_names_the_grouping(tree: Path):
    p = _folder_project(tree, Grouping(name="deep", kind="folder", level=2))
    with pytest.raises(GroupingError, match=r"grouping 'deep': level 2 is deeper than the "
                                            r"folder tree at cat/indoor/indoor00.png"):
        group_labels(p, "val", 6)


def test_a_metadata_file_maps_image_paths_to_groups(tree: Path):
    from engine.data import load_dataset
    from engine.data.folder import list_images

    files = [f.relative_to(tree).as_posix() for f in list_images(tree)]
    lit = {f: ("bright" if i % 3 == 0 else "dim") for i, f in enumerate(files)}
    (tree.parent / "light.csv").write_text(
        "file;light\n" + "".join(f"{f};{g}\n" for f, g in lit.items()))
    p = _folder_project(tree, Grouping(name="light", kind="file", file="../light.csv",
                                       column="light"))
    bundle = load_dataset(p.dataset)
    groups = group_labels(p, "val", len(bundle.val))["light"]
    site = group_labels(_folder_project(tree, Grouping(name="s", kind="folder", level=1)),
                        "val", len(bundle.val))["s"]
    assert len(groups) == len(bundle.val) and set(groups) <= {"bright", "dim"}
    # the same files in the same order: rebuild the val files from the split indices
    from engine.data.core import split_indices

    _, va, _ = split_indices(len(files), 0.25, 0.25, 3)
    assert groups == [lit[files[i]] for i in va.tolist()]
    assert site == [files[i].split("/")[1] for i in va.tolist()]


def test_a_sample_missing_from_the_metadata_file_is_named(tree: Path):
    (tree.parent / "some.csv").write_text("cat/indoor/indoor00.png,x\n")
    p = _folder_project(tree, Grouping(name="meta", kind="file", file="../some.csv"))
    with pytest.raises(GroupingError, match=r"grouping 'meta': .*some.csv has no group for "
                                            r"sample '.*' \(23 of 24 samples are missing\)"):
        group_labels(p, "train", 12)


def test_intersection_of_an_unknown_grouping_is_refused(tree: Path):
    p = _folder_project(tree, Grouping(name="site", kind="folder", level=1),
                        intersections=[["site", "age"]])
    with pytest.raises(GroupingError, match="intersection site x age: there is no grouping 'age'"):
        group_labels(p, "val", 6)


def test_a_column_grouping_on_image_data_says_what_to_use(tree: Path):
    p = _folder_project(tree, Grouping(name="g", kind="column", column="g"))
    with pytest.raises(GroupingError, match="grouping 'g' reads a column, but the data set is "
                                            "folder data"):
        group_labels(p, "val", 6)


def test_texts_column_groups_follow_the_texts_split(tmp_path: Path):
    from engine.data.texts.prepare import prepare

    rows = [f"review number {i} is {'good' if i % 2 else 'bad'},{'pos' if i % 2 else 'neg'},"
            f"{'en' if i % 3 else 'fr'}" for i in range(40)]
    path = tmp_path / "reviews.csv"
    path.write_text("text,label,lang\n" + "\n".join(rows) + "\n")
    p = load_template("mlp")
    p.dataset = DatasetSpec(source="texts", path=str(path), target="label")
    p.fairness = FairnessSpec(groupings=[Grouping(name="lang", kind="column", column="lang")])
    order = prepare(p.dataset).order["val"]
    assert group_labels(p, "val", len(order))["lang"] == [
        "en" if i % 3 else "fr" for i in order]


def test_dataset_warnings_name_rare_classes_and_rare_groups(tmp_path: Path):
    from engine.data import load_dataset

    path = tmp_path / "skewed.csv"
    lines = ["x1,x2,group,label"] + [f"{i % 7},{i % 5},{'Z' if i < 8 else 'Y'},"
                                     f"{1 if i % 10 == 0 else 0}" for i in range(200)]
    path.write_text("\n".join(lines) + "\n")
    p = csv_project(path, groupings=[Grouping(name="region", kind="column", column="group")])
    warnings = dataset_warnings(p, load_dataset(p.dataset))
    assert len(warnings) == 2, warnings
    assert "Class imbalance: class '1'" in warnings[0] and "class '0'" in warnings[0]
    assert "Grouping 'region': groups rare in the training split: 'Z'" in warnings[1]


def test_balanced_data_has_no_warnings(tmp_path: Path):
    p = csv_project(write_csv(tmp_path / "d.csv", n=600),
                    groupings=[Grouping(name="g", kind="column", column="group")],
                    min_group=5)
    assert not any("Class imbalance" in w for w in dataset_warnings(p))
    assert all("'A'" not in w and "'B'" not in w for w in dataset_warnings(p))


def test_ignore_columns_naming_no_column_is_refused(tmp_path: Path):
    from engine.data import DataError, load_dataset

    p = csv_project(write_csv(tmp_path / "d.csv", n=50))
    spec = p.dataset.model_copy(update={"options": {"ignore_columns": ["groop"], "task": "class"}})
    with pytest.raises(DataError, match="ignore_columns names 'groop', which is not a column"):
        load_dataset(spec)


def test_an_image_folder_is_warned_about_from_its_listing_without_decoding_an_image(tmp_path):
    # what the dataset panel asks before anything is loaded: the files are not images at
    # all, so any decoding would fail; the classes and groups come from the folder tree
    root = tmp_path / "images"
    for cls, site, count in (("cat", "indoor", 40), ("cat", "outdoor", 36), ("dog", "indoor", 9)):
        (root / cls / site).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            (root / cls / site / f"{i:03d}.png").write_bytes(b"not a png")
    p = _folder_project(root, Grouping(name="site", kind="folder", level=1), min_group=5)
    p.dataset.val_fraction, p.dataset.test_fraction = 0.2, 0.0
    warnings = dataset_warnings(p)
    assert "Class imbalance: class 'dog'" in warnings[0] and "class 'cat'" in warnings[0]
    train = group_labels(p, "train", None)["site"]
    assert len(train) == 68 and train.count("outdoor") < train.count("indoor")
    assert not any("Grouping 'site'" in w for w in warnings)  # both sites are common
