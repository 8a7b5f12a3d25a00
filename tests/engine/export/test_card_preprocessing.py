"""The model card says how the run's data pipeline really scaled its inputs: the digits'
0..16 pixels were divided by 16, image files' 8-bit pixels by 255."""

from __future__ import annotations

from engine.data import load_dataset
from engine.export import export
from engine.export.preprocessing import describe, pixel_scaling
from engine.project import DatasetSpec
from engine.train.rundir import data_info
from tests.engine.export.helpers import DATA_INFO, make_run


def _digits_info(normalize: bool) -> tuple[dict, object]:
    spec = DatasetSpec(source="builtin", name="digits", normalize=normalize)
    bundle = load_dataset(spec)
    return data_info(bundle, spec), bundle


def test_digits_card_says_divided_by_16_as_the_data_code_does(tmp_path):
    info, _ = _digits_info(normalize=True)
    run = make_run(tmp_path / "run", data=info)
    export(run, "safetensors", tmp_path / "out" / "digits.safetensors")
    card = next((tmp_path / "out").glob("*.md")).read_text()
    section = card.split("## Preparing the inputs", 1)[1].split("\n## ", 1)[0]
    assert "divided by 16" in section
    assert "255" not in section
    # ... and that is what training fed the model: the raw pixels end at 1.0 exactly
    _, raw = _digits_info(normalize=False)
    assert float(raw.train.x.max()) == 1.0


def test_image_files_and_generated_sets_keep_their_own_scaling():
    folder = dict(DATA_INFO, source="folder:/data/cats")
    assert "8-bit pixels divided by 255" in describe(folder)[0]
    assert pixel_scaling(dict(DATA_INFO, source="idx:/data/mnist")) == "8-bit pixels divided by 255"
    assert pixel_scaling(dict(DATA_INFO, source="builtin:shapes")) == "generated with values in [0, 1]"
