"""`layerforge lr-find`: the suggestion and a text plot, the curve as JSON, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.cli_helpers import run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
CPU = ("--set", "training.device=cpu", "--set", "training.threads=1")


def test_prints_the_suggestion_and_a_text_plot() -> None:
    r = run_cli("lr-find", str(EXAMPLES / "mlp.lforge"), "--steps", "120", *CPU)
    assert r.code == 0, r.text
    lines = r.out.splitlines()
    assert lines[0].startswith("Suggested learning rate ")
    rate = lines[0].split()[3].rstrip(",")
    plot = [ln for ln in lines[2:] if "*" in ln]
    assert len(plot) >= 6  # a curve over several rows
    assert any("|" in ln for ln in plot)  # the suggestion's column
    assert f"| suggested {rate}" in r.out
    assert "learning rate, log scale" in r.out


def test_json_has_the_whole_curve() -> None:
    r = run_cli("lr-find", str(EXAMPLES / "mlp.lforge"), "--steps", "40", "--start", "1e-5",
                "--end", "10", "--json", *CPU)
    assert r.code == 0, r.text
    data = json.loads(r.out)
    assert set(data) == {"lrs", "losses", "raw_losses", "suggestion", "message"}
    assert len(data["lrs"]) == len(data["losses"]) == len(data["raw_losses"])
    assert 20 <= len(data["lrs"]) <= 40
    assert data["lrs"][0] == 1e-5
    assert data["message"]


def test_set_reaches_the_ramp() -> None:
    def first_loss(*argv: str) -> float:
        r = run_cli("lr-find", str(EXAMPLES / "mlp.lforge"), "--steps", "20", "--json",
                    *CPU, *argv)
        assert r.code == 0, r.text
        return json.loads(r.out)["raw_losses"][0]

    # another seed: other initial weights and another first batch
    assert first_loss() != first_loss("--set", "training.seed=1")


def test_bad_options_and_gans_are_refused_with_a_sentence() -> None:
    mlp, gan = str(EXAMPLES / "mlp.lforge"), str(EXAMPLES / "dcgan.lforge")
    for argv, words in [(("--steps", "3"), "steps 3"), (("--start", "1", "--end", "0.1"),
                                                         "the start must be above 0"),
                        (("--set", "training.nope=1"), "unknown setting")]:
        r = run_cli("lr-find", mlp, *argv)
        assert r.code == 2 and words in r.err and "Traceback" not in r.text, r.text
    r = run_cli("lr-find", gan, "--steps", "30", *CPU)
    assert r.code == 2 and "one optimizer" in r.err and r.escaped is None, r.text
    r = run_cli("lr-find", str(EXAMPLES / "missing.lforge"))
    assert r.code == 2 and "missing.lforge" in r.err
