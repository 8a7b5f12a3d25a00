"""The evaluation panel on real language and sound runs trained by the engine (tiny ones,
once per module): the right view fills in from the run folder, and a run of another kind
leaves nothing behind. (Typed texts and WAV files are tried in the Try it tab:
tests/app/test_try_it_lang.py, tests/app/test_try_it_sound.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from tests.app.setup.conftest import _train, wait_idle
from tests.app.setup.lang_runs import sound_project, text_project


@pytest.fixture
def panel(evaluation_panel):
    return evaluation_panel


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    return _train(text_project(), tmp_path_factory.mktemp("lang") / "text")


@pytest.fixture(scope="module")
def sound_run(tmp_path_factory):
    return _train(sound_project(), tmp_path_factory.mktemp("lang") / "sound")


def _shown(panel, qtbot, run_dir) -> None:
    panel.show_run(str(run_dir))
    wait_idle(qtbot, panel.jobs)
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    assert panel.result is not None


def test_a_text_run_lists_its_wrong_texts(panel, qtbot, text_run):
    from engine.train.inference import open_run

    _shown(panel, qtbot, text_run)
    r = panel.result
    loaded = open_run(text_run)
    assert r.texts == loaded.bundle.texts["val"]
    section = panel.text_samples
    assert section.isVisibleTo(panel) and not panel.gallery.isVisibleTo(panel)
    wrong = [i for i, (t, p) in enumerate(zip(r.true, r.pred, strict=True)) if t != p]
    assert sorted(section.table.positions()) == wrong
    for row, i in enumerate(section.table.positions()[:5]):
        assert section.table.texts(row)[:3] == [r.texts[i], r.classes[r.true[i]],
                                               r.classes[r.pred[i]]]
    assert section.try_link.isVisibleTo(panel)


def test_a_sound_run_plays_its_wrong_clips(panel, qtbot, sound_run):
    _shown(panel, qtbot, sound_run)
    r = panel.result
    section = panel.sound_samples
    assert section.isVisibleTo(panel) and r.sample_rate == 8000
    assert len(r.clips) == len(r.true) and r.clips[0].shape == (8000,)
    wrong = [i for i, (t, p) in enumerate(zip(r.true, r.pred, strict=True)) if t != p]
    assert sorted(section.table.positions()) == wrong
    if wrong:
        first = section.table.positions()[0]
        assert np.array_equal(section.audio.clip, r.clips[first])
    assert section.try_link.isVisibleTo(panel)


def test_switching_to_a_run_of_another_kind_clears_the_view(panel, qtbot, text_run, sound_run):
    _shown(panel, qtbot, sound_run)
    assert panel.sound_samples.isVisibleTo(panel)
    panel.show_run(str(text_run))
    # while the text run is evaluated, nothing of the sound run shows
    assert panel.result is None and not panel.sound_samples.isVisibleTo(panel)
    _shown(panel, qtbot, text_run)
    assert not panel.sound_samples.isVisibleTo(panel)
    assert panel.sound_samples.table.rowCount() == 0
    assert panel.sound_samples.audio.clip is None
