"""The samples panel: streamed generation from a tiny charlstm run, and the per-epoch grid
of a tiny dcgan run (both trained by the engine in-process)."""

from __future__ import annotations

import base64

import pytest
from PySide6.QtGui import QImage

from app.panels.samples import SamplesPanel
from engine.train.events import RunStarted, Sample


@pytest.fixture
def panel(qtbot):
    p = SamplesPanel()
    p.resize(900, 500)
    qtbot.addWidget(p)
    yield p
    p.shutdown()


def test_generation_streams_the_engines_text(panel, qtbot, lm_run):
    panel.show_run(str(lm_run))
    assert panel.pages.currentIndex() == 1
    assert panel.frames and isinstance(panel.frames[1], str)  # the epoch-1 text sample
    panel.prompt.setText("def ")
    panel.length.setValue(60)
    panel.temperature.setValue(0.9)
    panel.top_k.setValue(5)
    panel.seed.setValue(3)
    chunks: list[str] = []
    panel.generated.textChanged.connect(lambda: chunks.append(panel.generated.toPlainText()))
    panel.generate()
    assert not panel.generate_button.isEnabled() and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.generating, timeout=60000)
    text = panel.generated.toPlainText()
    assert len(chunks) > 10  # it arrived piece by piece
    from engine.train.inference import open_run

    expected = open_run(lm_run).task.generate("def ", 60, 0.9, 5, seed=3)
    assert text == expected
    assert panel.generate_button.isEnabled() and not panel.stop_button.isEnabled()


def test_stop_ends_a_long_generation(panel, qtbot, lm_run):
    panel.show_run(str(lm_run))
    panel.length.setValue(100_000)
    panel.generate()
    qtbot.waitUntil(lambda: len(panel.generated.toPlainText()) > 10, timeout=60000)
    panel.stop_button.click()
    qtbot.waitUntil(lambda: not panel.generating, timeout=10000)
    assert len(panel.generated.toPlainText()) < 100_000


def test_unknown_prompt_characters_are_reported(panel, qtbot, lm_run):
    panel.show_run(str(lm_run))
    panel.prompt.setText("Ω")
    panel.generate()
    qtbot.waitUntil(lambda: not panel.generating, timeout=60000)
    assert panel.error.isVisibleTo(panel)
    assert "not in the vocabulary" in panel.error.text()


def test_gan_grid_scrubs_by_epoch(panel, lm_run, gan_run):
    panel.show_run(str(gan_run))
    assert panel.pages.currentIndex() == 2
    assert sorted(panel.frames) == [1, 2, 3]
    assert panel.shown_epoch == 3 and panel.epoch_slider.maximum() == 2
    panel.epoch_slider.setValue(0)
    assert panel.shown_epoch == 1
    want = QImage(str(gan_run / "samples" / "epoch0001.png"))
    assert panel.image.pixmap().toImage().convertToFormat(want.format()) == want
    assert "1 of 3" in panel.epoch_label.text()


def test_sample_events_update_the_grid_live(panel, gan_run):
    panel.on_event(RunStarted(run_dir=str(gan_run), task="gan"))
    assert panel.frames == {} and "no samples" in panel.epoch_label.text()
    pngs = {e: (gan_run / "samples" / f"epoch{e:04d}.png").read_bytes() for e in (1, 2, 3)}
    for e in (1, 2):
        panel.on_event(Sample(epoch=e, kind="image", png_base64=base64.b64encode(pngs[e]).decode()))
    assert panel.shown_epoch == 2  # follows the newest
    panel.epoch_slider.setValue(0)
    panel.on_event(Sample(epoch=3, kind="image", png_base64=base64.b64encode(pngs[3]).decode()))
    assert panel.shown_epoch == 1  # the user scrubbed back: stay there
    assert sorted(panel.frames) == [1, 2, 3]
