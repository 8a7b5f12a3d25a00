"""The palette's Pretrained and Composites families, and the card of a pretrained backbone."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.dialogs.pretrained_card import PretrainedCard
from app.panels.palette import MIME_COMPOSITE, MIME_PRETRAINED, PalettePanel
from engine.zoo.catalog import BY_KEY, ENTRIES
from tests.engine.zoo.hubserver import hub_fixture  # noqa: F401 - the loopback Hub ("hub")

TITLES = ["ResNet-18", "ResNet-50", "ConvNeXt-Tiny", "MobileNetV2", "EfficientNet-B0", "ViT-B/16"]


@pytest.fixture
def palette(qtbot):
    p = PalettePanel()
    qtbot.addWidget(p)
    p.set_pretrained(ENTRIES)
    return p


def test_pretrained_family_lists_the_six_backbones_with_their_size(palette):
    items = palette.entry_items("pretrained")
    assert [i.text(0).split(" (")[0] for i in items] == TITLES
    assert items[0].text(0) == "ResNet-18 (11.7M)"
    tip = items[0].toolTip(0)
    assert "Apache-2.0" in tip and "224×224" in tip and "microsoft/resnet-18" in tip


def test_the_group_block_type_is_not_a_plain_palette_block(palette):
    assert "Group" not in palette.visible_types()
    assert "Linear" in palette.visible_types()


def test_composites_family_shows_the_project_composites_and_hides_when_empty(palette):
    assert palette.composites_family.isHidden()
    palette.set_composites([("resblock", "resblock: a composite"), ("stem", "stem")])
    assert palette.visible_entries("composite") == ["resblock", "stem"]
    assert not palette.composites_family.isHidden()
    palette.set_composites([])
    assert palette.composites_family.isHidden()


def test_search_finds_pretrained_and_composite_entries(palette):
    palette.set_composites([("resblock", "resblock")])
    palette.search.setText("resnet")
    assert palette.visible_entries("pretrained") == ["resnet18", "resnet50"]
    assert palette.visible_types() == []
    palette.search.setText("resblock")
    assert palette.visible_entries("composite") == ["resblock"]
    assert palette.visible_entries("pretrained") == []
    palette.search.setText("dosovitskiy")  # the card's facts are searched too
    assert palette.visible_entries("pretrained") == ["vit_b16"]
    palette.search.setText("wrap")  # but not the tooltip's markup
    assert palette.visible_entries("pretrained") == []


def test_drags_carry_the_zoo_key_or_the_graph_name(palette):
    palette.set_composites([("resblock", "resblock")])
    mime = palette.tree.mimeData([palette.item_for("vit_b16", "pretrained")])
    assert bytes(mime.data(MIME_PRETRAINED).data()) == b"vit_b16"
    mime = palette.tree.mimeData([palette.item_for("resblock", "composite")])
    assert bytes(mime.data(MIME_COMPOSITE).data()) == b"resblock"


def test_enter_on_a_pretrained_entry_asks_for_its_card(palette, qtbot):
    palette.search.setText("convnext")
    with qtbot.waitSignal(palette.pretrained_activated) as sig:
        palette.search.returnPressed.emit()
    assert sig.args == ["convnext_tiny"]


def test_context_menu_about_asks_for_the_card(palette, qtbot):
    menu = palette.context_menu(palette.item_for("mobilenet_v2", "pretrained"))
    about = next(a for a in menu.actions() if a.text() == "About…")
    with qtbot.waitSignal(palette.pretrained_activated) as sig:
        about.trigger()
    assert sig.args == ["mobilenet_v2"]


def test_card_shows_the_checkpoint_facts(qtbot):
    e = BY_KEY["resnet50"]
    card = PretrainedCard(e, cached=False)
    qtbot.addWidget(card)
    assert card.title.text() == "ResNet-50"
    assert "He et al. 2015" in card.source.text()
    assert "microsoft/resnet-50" in card.link.text()
    assert card.licence.text() == "Apache-2.0"
    assert card.params.text() == "25.6M (25,557,032)"
    assert card.input_size.text() == "224×224 RGB"
    assert card.norm.text() == "mean [0.485, 0.456, 0.406]\nstd [0.229, 0.224, 0.225]"
    assert card.accuracy.text() == e.accuracy
    assert "not downloaded" in card.cache.text()
    card.set_cached(True)
    assert "in the local cache" in card.cache.text()
    assert not card.download_button.isEnabled()


def test_card_buttons_ask_to_add_or_download(qtbot):
    card = PretrainedCard(BY_KEY["resnet18"])
    qtbot.addWidget(card)
    with qtbot.waitSignal(card.download_requested) as sig:
        qtbot.mouseClick(card.download_button, Qt.MouseButton.LeftButton)
    assert sig.args == ["resnet18"]
    with qtbot.waitSignal(card.add_requested) as sig:
        qtbot.mouseClick(card.add_button, Qt.MouseButton.LeftButton)
    assert sig.args == ["resnet18"]


def test_window_palette_lists_the_zoo_and_opens_a_card_that_checks_the_cache(ws, qtbot, hub):
    palette = ws.palette
    assert [i.text(0).split(" (")[0] for i in palette.entry_items("pretrained")] == TITLES
    palette.tree.itemActivated.emit(palette.item_for("resnet18", "pretrained"), 0)
    card = ws.pretrained.card
    assert card is not None and card.isVisible() and card.entry.key == "resnet18"
    qtbot.waitUntil(lambda: "not downloaded" in card.cache.text(), timeout=10000)


def test_window_palette_follows_grouping_and_undo(ws, qtbot):
    doc = ws.document
    name, _gid = doc.group("model", ["fc1", "act"], "hidden")
    assert ws.palette.visible_entries("composite") == [name]
    doc.undo()
    assert ws.palette.visible_entries("composite") == []


def test_double_click_on_a_composite_adds_another_use(ws):
    doc = ws.document
    name, gid = doc.group("model", ["fc1", "act"], "hidden")
    ws.palette.tree.itemActivated.emit(ws.palette.item_for(name, "composite"), 0)
    uses = [n.id for n in doc.graph("model").nodes
            if n.type == "Group" and n.params["graph"] == name]
    assert len(uses) == 2 and gid in uses
