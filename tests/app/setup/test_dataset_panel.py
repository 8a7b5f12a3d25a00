"""The dataset panel edits project.dataset through the document and previews real data."""

from __future__ import annotations

import pytest

from app.document import GraphDocument
from app.panels.dataset import DatasetPanel
from engine.project import DatasetSpec
from tests.app.conftest import chain_project
from tests.app.setup.conftest import choose, wait_idle


@pytest.fixture
def panel(dataset_panel):
    return dataset_panel


def _set_source(panel, **fields) -> None:
    doc = panel.document
    for k, v in fields.items():
        doc.set_field("dataset", k, v)


def test_builtin_choice_and_split_edits_go_through_the_document(panel, qtbot):
    doc = panel.document
    doc.set_field("dataset", "source", "csv")
    panel.load_catalogue()
    wait_idle(qtbot, panel.catalog)
    start = doc.project.dataset.model_copy()
    count = doc.undo_stack.count()
    choose(panel.source_combo, "builtin")
    assert doc.project.dataset.source == "builtin"
    assert doc.project.dataset.name == "spirals"  # the first built-in set, same undo step
    assert doc.undo_stack.count() == count + 1
    choose(panel.name_combo, "moons")
    assert doc.project.dataset.name == "moons"
    assert "half circles" in panel.description.text()
    for v in (25, 30, 35):  # one drag of the slider
        panel.val_slider.setValue(v)
    assert doc.project.dataset.val_fraction == pytest.approx(0.35)
    assert panel.val_label.text() == "35%"
    panel.flip.setChecked(True)
    panel.rotate.setValue(15.0)
    assert doc.project.dataset.augment_flip and doc.project.dataset.augment_rotate == 15.0
    assert doc.undo_stack.count() == count + 5
    doc.undo()
    doc.undo()
    assert not panel.flip.isChecked() and panel.rotate.value() == 0.0
    doc.undo()
    assert doc.project.dataset.val_fraction == start.val_fraction
    assert panel.val_slider.value() == round(start.val_fraction * 100)
    doc.undo()
    doc.undo()
    assert doc.project.dataset == start
    assert panel.source_combo.currentData() == "csv"


def test_csv_column_picker_reads_the_header(panel, tmp_path):
    path = tmp_path / "houses.csv"
    path.write_text("rooms,area,price\n3,70.5,210\n4,99,320\n2,50,150\n", encoding="utf-8")
    _set_source(panel, source="csv")
    panel.path_edit.setText(str(path))
    panel.path_edit.editingFinished.emit()
    assert panel.document.project.dataset.path == str(path)
    names = [panel.target_combo.itemData(i) for i in range(panel.target_combo.count())]
    assert names == ["", "rooms", "area", "price"]
    choose(panel.target_combo, "area")
    assert panel.document.project.dataset.target == "area"


def test_ragged_csv_shows_the_error_inline_naming_the_line(panel, qtbot, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,y\n5,z\n6,7,x\n" * 1, encoding="utf-8")
    _set_source(panel, source="csv", path=str(path))
    panel.refresh_preview()
    wait_idle(qtbot, panel.loader)
    assert panel.error.isVisibleTo(panel)
    text = panel.error.text()
    assert "ragged.csv" in text and "line 4" in text
    assert "Traceback" not in text


def test_preview_of_an_image_set_shows_labelled_samples_and_class_counts(panel, qtbot):
    _set_source(panel, source="builtin", name="shapes", samples=60, val_fraction=0.25)
    panel.refresh_preview()
    wait_idle(qtbot, panel.loader)
    p = panel.preview
    assert p is not None and p.kind == "image"
    assert panel.gallery.count() == len(p.images) > 0
    classes = [name for name, _ in p.counts]
    assert {panel.gallery.item(i).text() for i in range(panel.gallery.count())} <= set(classes)
    assert sum(n for _, n in panel.counts.items) == p.train_size == 45
    assert not panel.error.isVisibleTo(panel)


def test_preview_of_a_text_set_shows_an_excerpt(panel, qtbot, corpus_file):
    _set_source(panel, source="text", path=str(corpus_file), seq_len=16)
    panel.refresh_preview()
    wait_idle(qtbot, panel.loader)
    excerpt = panel.excerpt.toPlainText()
    assert excerpt and excerpt[:40] in corpus_file.read_text() * 2
    assert panel.excerpt.isVisibleTo(panel) and not panel.gallery.isVisibleTo(panel)


def test_fit_model_to_data_is_one_undo_step_and_lists_the_changes(panel, qtbot):
    doc = panel.document
    doc.replace_project(chain_project())
    doc.set_field("dataset", "name", "blobs")  # 2 features, 4 classes; the model has [4] -> 3
    count = doc.undo_stack.count()
    panel.fit_model()
    wait_idle(qtbot, panel.loader)
    assert doc.node("model", "x").params["shape"] == [2]
    assert doc.node("model", "fc2").params["out_features"] == 4
    assert doc.undo_stack.count() == count + 1
    text = panel.fit_label.text()
    assert "model/x" in text and "model/fc2: out_features set to 4" in text
    doc.undo()
    assert doc.node("model", "x").params["shape"] == [4]
    assert doc.node("model", "fc2").params["out_features"] == 3


def test_panel_follows_a_replaced_project(panel):
    project = chain_project()
    project.dataset = DatasetSpec(source="text", path="corpus.txt", seq_len=32)
    panel.document.replace_project(project)
    assert panel.source_combo.currentData() == "text"
    assert panel.path_edit.text() == "corpus.txt"
    assert panel.seq_spin.value() == 32


def _image_folder(root, size: int = 16, per_class: int = 4):
    """A folder of RGB PNGs, one sub-folder per class, all ``size`` x ``size``."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("circle", "square", "triangle"):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels, "RGB").save(root / cls / f"{i}.png")
    return root


@pytest.fixture
def lenet_panel(qtbot):
    from engine.templates import load_template

    doc = GraphDocument(load_template("lenet5"))  # digits at image size 28
    p = DatasetPanel(doc)
    p.resize(420, 900)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    yield p
    p.shutdown()


def _input_shape(doc) -> list[int]:
    node = next(n for n in doc.graph("model").nodes if n.type == "Input")
    return list(doc.node("model", node.id).params["shape"])


def test_fit_right_after_typing_a_path_is_not_dropped_by_the_debounced_preview(
        lenet_panel, qtbot, tmp_path, monkeypatch):
    """Type a path, then click Fit at once: leaving the field commits the path, which
    schedules a preview 350 ms later; the fit must still be applied, with feedback."""
    import time

    from PySide6.QtCore import Qt

    from app.panels import dataset_jobs

    panel, doc = lenet_panel, lenet_panel.document
    folder = _image_folder(tmp_path / "pictures")
    panel.refresh_preview()  # the panel is showing previews: edits schedule new ones
    wait_idle(qtbot, panel.loader)
    # The source change schedules a preview (of no path yet): let it come and go.
    with qtbot.waitSignal(panel._debounce.timeout, timeout=5000):
        choose(panel.source_combo, "folder")
    wait_idle(qtbot, panel.loader)
    real_fit = dataset_jobs.fit

    def slow_fit(*args):  # a data set that takes longer to load than the debounce interval
        time.sleep(0.8)
        return real_fit(*args)

    monkeypatch.setattr(dataset_jobs, "fit", slow_fit)
    panel.path_edit.clear()
    qtbot.keyClicks(panel.path_edit, str(folder))
    qtbot.keyClick(panel.path_edit, Qt.Key.Key_Return)  # commits, as leaving the field does
    assert doc.project.dataset.path == str(folder)
    qtbot.mouseClick(panel.fit_button, Qt.MouseButton.LeftButton)
    assert not panel.fit_button.isEnabled()  # feedback while it runs
    assert panel.fit_label.isVisibleTo(panel) and "Fitting" in panel.fit_label.text()
    assert not panel._debounce.isActive()  # the preview the edit asked for is in the fit
    qtbot.waitUntil(panel.fit_button.isEnabled, timeout=60000)  # past the debounce interval
    wait_idle(qtbot, panel.loader)
    assert _input_shape(doc) == [3, 16, 16]
    assert doc.node("model", "fc3").params["out_features"] == 3
    assert "out_features set to 3" in panel.fit_label.text()
    assert panel.fit_label.isVisibleTo(panel) and panel.fit_button.isEnabled()
    assert panel.preview is not None and panel.preview.train_size > 0  # the preview, too
    assert not panel.error.isVisibleTo(panel)


def test_a_failed_fit_says_so_and_gives_the_button_back(lenet_panel, qtbot, tmp_path):
    panel = lenet_panel
    _set_source(panel, source="folder", path=str(tmp_path / "missing"))
    panel.fit_model()
    wait_idle(qtbot, panel.loader)
    assert panel.fit_button.isEnabled()
    assert panel.error.isVisibleTo(panel)
    assert panel.error.text().startswith("Fit model to data: ") and "missing" in panel.error.text()


def test_an_image_folder_keeps_its_own_size_as_the_cli_does(lenet_panel, qtbot, tmp_path):
    """lenet5 sets image size 28 for digits; choosing an image folder in the app must give
    the same project as `layerforge new --template lenet5 --dataset folder:PATH`."""
    from engine.data import load_dataset, parse_spec
    from engine.templates import load_template
    from engine.train.fit import fit_project

    panel, doc = lenet_panel, lenet_panel.document
    folder = _image_folder(tmp_path / "pictures", size=20)
    assert doc.project.dataset.image_size == 28
    count = doc.undo_stack.count()
    choose(panel.source_combo, "folder")
    assert doc.undo_stack.count() == count + 1  # still one undo step
    assert doc.project.dataset.image_size is None
    assert panel.image_size.value() == panel.image_size.minimum()  # shows "original"
    assert panel.image_size.text() == "original"
    doc.set_field("dataset", "path", str(folder))
    panel.fit_model()
    wait_idle(qtbot, panel.loader)
    # The CLI's code path (engine/cli/project_cmds.py cmd_new).
    cli = load_template("lenet5")
    cli.dataset = parse_spec(f"folder:{folder}")
    fit_project(cli, load_dataset(cli.dataset))
    cli_input = next(n for n in cli.graphs["model"].nodes if n.type == "Input")
    assert _input_shape(doc) == list(cli_input.params["shape"]) == [3, 20, 20]
    assert doc.project.dataset.image_size == cli.dataset.image_size
    doc.undo()  # the fit
    doc.undo()  # the path
    doc.undo()  # the source, with its image size
    assert doc.project.dataset.source == "builtin" and doc.project.dataset.image_size == 28
