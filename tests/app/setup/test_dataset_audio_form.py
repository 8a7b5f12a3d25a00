"""The dataset panel's sound sources (sound clips by class, speech with transcripts) and
their built-ins: their rows show only for them and every edit lands in the project through
the document as one undo step."""

from __future__ import annotations

import pytest

from tests.app.conftest import chain_project
from tests.app.setup.conftest import choose, type_path, wait_idle


@pytest.fixture
def panel(dataset_panel):
    return dataset_panel


def test_sound_clips_ask_for_a_folder_a_rate_a_length_and_augmentation(panel):
    doc = panel.document
    rows, sound = panel.source_box.audio, panel.prep_box.sound
    src, prep = panel.source_form, panel.prep_form
    assert not prep.isRowVisible(sound.sample_rate)  # a built-in 2-D set: no sound rows
    count = doc.undo_stack.count()
    choose(panel.source_combo, "audio")
    assert src.labelForField(panel.path_field).text() == "Clips folder"
    assert panel.path_field.mode.value == "folder"
    assert src.isRowVisible(rows.bad) and not src.isRowVisible(rows.transcripts)
    for w in (sound.sample_rate, sound.clip_seconds, sound.shift, sound.noise):
        assert prep.isRowVisible(w)
    for w in (panel.image_size, panel.normalize, panel.prep_box.tokens.tokenizer,
              sound.noise_folder):  # the noise folder once noise is mixed in
        assert not prep.isRowVisible(w)
    assert not src.isRowVisible(panel.source_box.text.text_column)
    type_path(panel.path_field, "/data/commands")
    sound.sample_rate.setValue(8000)
    sound.clip_seconds.setValue(1.5)
    sound.shift.setValue(0.1)
    sound.noise.setValue(0.2)
    assert prep.isRowVisible(sound.noise_folder)
    type_path(sound.noise_folder, "/data/noise")
    choose(rows.bad, "skip")
    d = doc.project.dataset
    assert (d.source, d.path, d.sample_rate, d.clip_seconds, d.augment_shift, d.augment_noise,
            d.noise_path, d.bad_entries) == ("audio", "/data/commands", 8000, 1.5, 0.1, 0.2,
                                             "/data/noise", "skip")
    assert doc.undo_stack.count() == count + 8  # one step per edit
    doc.undo()
    doc.undo()
    assert sound.noise_folder.text() == ""
    doc.undo()
    assert sound.noise.value() == 0.0 and sound.noise.text() == "off"
    assert not prep.isRowVisible(sound.noise_folder)
    for _ in range(5):
        doc.undo()
    assert doc.project.dataset == chain_project().dataset
    assert not prep.isRowVisible(sound.sample_rate)


def test_speech_asks_for_the_transcripts_file(panel):
    doc = panel.document
    rows = panel.source_box.audio
    choose(panel.source_combo, "speech")
    assert panel.source_form.isRowVisible(rows.transcripts)
    assert rows.transcripts.edit.placeholderText() == "detected"
    count = doc.undo_stack.count()
    type_path(rows.transcripts, "/data/speech/metadata.csv")
    assert doc.project.dataset.target_path == "/data/speech/metadata.csv"
    assert doc.undo_stack.count() == count + 1
    doc.undo()
    assert rows.transcripts.text() == ""


@pytest.mark.parametrize("name", ["keywords", "spoken_digits"])
def test_the_built_in_sound_sets_show_the_sound_rows_and_their_size(panel, qtbot, name):
    panel.load_catalogue()
    wait_idle(qtbot, panel.catalog)
    choose(panel.name_combo, name)
    sound = panel.prep_box.sound
    assert "espeak" in panel.description.text()
    assert panel.source_form.isRowVisible(panel.samples_spin)
    assert not panel.source_form.isRowVisible(panel.source_box.audio.transcripts)
    assert not panel.source_form.isRowVisible(panel.source_box.audio.bad)  # generated
    assert panel.prep_form.isRowVisible(sound.clip_seconds)
    assert not panel.prep_form.isRowVisible(panel.image_size)


def test_a_clips_folder_must_be_chosen_before_a_preview(panel):
    panel.document.set_field("dataset", "source", "audio")
    panel.refresh_preview()
    assert panel.error.text() == "Choose the folder of clips."
    assert not panel.loader.busy
