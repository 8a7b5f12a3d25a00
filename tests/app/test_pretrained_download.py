"""Adding a pretrained backbone: the weights are fetched in the background with progress
and Cancel, then the composite and the checkpoint's preprocessing land in one undo step."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.window.features.pretrained import PretrainedFeature
from engine.zoo import ZooError
from engine.zoo.catalog import BY_KEY
from engine.zoo.hub import Cancelled, is_cached
from tests.engine.zoo.hubserver import hub_fixture  # noqa: F401 - the loopback Hub ("hub")

TOTAL = 40 * 1024 * 1024


class SlowFetch:
    """A fetch that reports 40 MB in small steps, ``delay`` seconds apart, until cancelled
    (raising as engine.zoo.hub.fetch does) or done; ``release`` ends the wait early."""

    def __init__(self, steps: int = 400, delay: float = 0.01) -> None:
        self.steps, self.delay = steps, delay
        self.calls: list[tuple[str, str, list[str]]] = []
        self.cancelled = threading.Event()

    def __call__(self, repo, revision, filenames, *, progress, cancel, sha256=None):
        self.calls.append((repo, revision, list(filenames)))
        for i in range(1, self.steps + 1):
            if cancel():
                self.cancelled.set()
                raise Cancelled(f"cancelled: the download of {filenames[0]} was stopped")
            time.sleep(self.delay)
            progress(i * TOTAL // self.steps, TOTAL)
        return []


def _feature(ws, fetch) -> PretrainedFeature:
    return PretrainedFeature(ws.window, ws.document, ws.tabs, ws.palette,
                             before=ws.actions.quit, fetch=fetch)


@pytest.fixture
def make_feature(ws):
    made: list[PretrainedFeature] = []

    def make(fetch) -> PretrainedFeature:
        made.append(_feature(ws, fetch))
        return made[-1]

    yield make
    for f in made:
        f.shutdown()


def test_progress_shows_bytes_and_cancel_leaves_the_project_unchanged(ws, qtbot, make_feature):
    fetch = SlowFetch(steps=2000, delay=0.005)
    feature = make_feature(fetch)
    before, steps = ws.document.to_json(), ws.document.undo_stack.count()
    assert feature.add_pretrained("resnet18")
    assert fetch.calls == [] or fetch.calls[0][0] == "microsoft/resnet-18"
    dialog = feature.progress
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.value() > 0 and " of 40 MB" in dialog.labelText(),
                    timeout=10000)
    cancel = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Cancel")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not feature.busy, timeout=10000)
    assert fetch.cancelled.is_set()
    assert feature.progress is None
    assert ws.document.to_json() == before
    assert ws.document.undo_stack.count() == steps
    assert "cancelled" in ws.window.statusBar().currentMessage()


def test_after_the_download_the_backbone_and_its_preprocessing_are_one_undo_step(
        ws, qtbot, make_feature):
    feature = make_feature(SlowFetch(steps=5, delay=0.001))
    doc = ws.document
    before, steps = doc.to_json(), doc.undo_stack.count()
    assert feature.add_pretrained("resnet18")
    qtbot.waitUntil(lambda: not feature.busy, timeout=10000)
    entry = BY_KEY["resnet18"]
    assert "resnet18" in doc.project.graphs
    backbone = doc.graph("resnet18")
    assert backbone.weights is not None and backbone.weights.source == "hf:microsoft/resnet-18"
    uses = [n for n in doc.graph("model").nodes if n.type == "Group"]
    assert [n.params["graph"] for n in uses] == ["resnet18"]
    ds = doc.project.dataset
    assert (ds.image_size, ds.mean, ds.std) == (224, list(entry.mean), list(entry.std))
    assert doc.undo_stack.count() == steps + 1
    assert ws.view().graph_scene.selected_node_ids() == [uses[0].id]
    doc.undo()
    assert doc.to_json() == before


def test_offline_and_not_cached_offers_to_add_the_block_anyway(ws, qtbot, make_feature):
    def offline_fetch(repo, revision, filenames, **_kw):
        raise ZooError(f"model.safetensors of hf:{repo} is not in the cache and the Hub "
                       "cannot be reached (offline)")

    feature = make_feature(offline_fetch)
    asked: list[str] = []
    answers = iter([False, True])
    feature.ask_add_anyway = lambda entry, message: asked.append(message) or next(answers)
    before = ws.document.to_json()
    feature.add_pretrained("mobilenet_v2")
    qtbot.waitUntil(lambda: not feature.busy, timeout=10000)
    assert "not in the cache" in asked[0]
    assert ws.document.to_json() == before  # declined: nothing added
    feature.add_pretrained("mobilenet_v2")
    qtbot.waitUntil(lambda: not feature.busy, timeout=10000)
    assert "mobilenet_v2" in ws.document.project.graphs
    assert ws.document.project.dataset.mean == [0.5, 0.5, 0.5]


def test_a_drop_on_the_canvas_adds_the_backbone_where_it_was_dropped(ws, qtbot, make_feature):
    feature = make_feature(SlowFetch(steps=2, delay=0.001))
    ws.tabs.pretrained_dropped.disconnect(ws.pretrained._on_tabs_pretrained_dropped)
    ws.tabs.pretrained_dropped.emit("vit_b16", "model", 400.0, 300.0)
    qtbot.waitUntil(lambda: not feature.busy, timeout=10000)
    node = next(n for n in ws.document.graph("model").nodes if n.type == "Group")
    assert node.params["graph"] == "vit_b16"
    assert abs(node.position[0] - 400) < 200 and abs(node.position[1] - 300) < 100


def test_real_download_from_a_loopback_hub_then_the_card_says_cached(ws, qtbot, hub):
    weights = bytes(range(256)) * 4096  # 1 MiB
    hub.add("microsoft/resnet-18", {"model.safetensors": weights, "config.json": b"{}"})
    feature = ws.pretrained  # the window's own, with the real engine.zoo.hub.fetch
    card = feature.show_card("resnet18")
    qtbot.waitUntil(lambda: "not downloaded" in card.cache.text(), timeout=10000)
    assert feature.download("resnet18")
    qtbot.waitUntil(lambda: not feature.busy, timeout=20000)
    assert "in the local cache" in card.cache.text()
    assert hub.gets("model.safetensors")
    assert "resnet18" not in ws.document.project.graphs  # download only


def test_real_download_cancelled_midway_keeps_nothing(ws, qtbot, hub):
    # huggingface_hub reports (and so notices a cancel) every 10 MiB it has read
    hub.add("microsoft/resnet-18", {"model.safetensors": b"\1" * (24 << 20)})
    hub.chunk_delay = 0.002
    feature = ws.pretrained
    before = ws.document.to_json()
    feature.add_pretrained("resnet18")
    qtbot.waitUntil(lambda: feature.progress is not None and feature.progress.value() > 0,
                    timeout=20000)
    feature.cancel()
    qtbot.waitUntil(lambda: not feature.busy, timeout=20000)
    assert ws.document.to_json() == before
    assert "cancelled" in ws.window.statusBar().currentMessage()
    assert not is_cached("microsoft/resnet-18", "main")


def test_opening_another_project_mid_download_adds_nothing_to_it(ws, qtbot, make_feature):
    from tests.app.conftest import chain_project

    feature = make_feature(SlowFetch(steps=50, delay=0.01))
    feature.add_pretrained("resnet18")
    ws.document.replace_project(chain_project(hidden=8))
    fresh = ws.document.to_json()
    qtbot.waitUntil(lambda: not feature.busy, timeout=10000)
    assert ws.document.to_json() == fresh
    assert "downloaded" in ws.window.statusBar().currentMessage()
