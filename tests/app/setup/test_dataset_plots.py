"""The dataset preview draws tabular data: 2-D classification as a scatter coloured by
class (with a legend), a regression target as a histogram; the rows stay in a second tab."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from tests.app.setup.conftest import wait_idle


@pytest.fixture
def panel(dataset_panel):
    return dataset_panel


def _preview(panel, qtbot, **fields):
    for k, v in fields.items():
        panel.document.set_field("dataset", k, v)
    panel.refresh_preview()
    wait_idle(qtbot, panel.loader)
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    return panel.view


def test_two_d_classes_are_a_scatter_coloured_by_class_shown_first(panel, qtbot):
    view = _preview(panel, qtbot, source="builtin", name="spirals", samples=300)
    assert view.tabs.isVisibleTo(panel) and view.tabs.currentWidget() is view.plot
    scatters = [i for i in view.plot.item.listDataItems() if isinstance(i, pg.ScatterPlotItem)]
    classes = [name for name, _ in view.preview.counts]
    assert [label.text for _s, label in view.plot.legend.items] == classes
    assert len(scatters) == len(classes) >= 2
    assert sum(len(s.data) for s in scatters) == view.preview.train_size
    brushes = {s.opts["brush"].color().name() for s in scatters}
    assert len(brushes) == len(scatters)  # one colour per class
    # the raw coordinates, not the normalised ones: the points span the spiral's extent
    xs = np.concatenate([s.data["x"] for s in scatters])
    assert xs.std() > 0.3
    assert view.tabs.isTabVisible(view.tabs.indexOf(view.table))  # the rows one click away
    assert view.table.rowCount() > 0


def test_a_regression_target_is_a_histogram(panel, qtbot):
    view = _preview(panel, qtbot, source="builtin", name="sines", samples=400, seq_len=8)
    assert view.plot.shown == "histogram" and view.tabs.currentWidget() is view.plot
    (item,) = view.plot.item.listDataItems()
    edges, counts = item.getData()
    assert counts.sum() == view.preview.train_size
    targets = view.preview.targets
    assert edges.min() <= targets.min() and targets.max() <= edges.max() + 1e-6


def test_images_and_text_draw_no_plot(panel, qtbot):
    view = _preview(panel, qtbot, source="builtin", name="shapes", samples=60)
    assert view.plot.shown == "" and not view.tabs.isVisibleTo(panel)
    assert view.gallery.isVisibleTo(panel)
