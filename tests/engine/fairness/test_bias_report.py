"""The bias report of a real trained run on data whose groups differ by construction
(tests/engine/fairness/fair_data.py): it finds the gap, its direction and its size;
small groups are flagged and not judged; the CLI and the model card show the report."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.project import Grouping
from tests.app.trained_runs import train_run
from tests.engine.cli_helpers import run_cli
from tests.engine.fairness.fair_data import NOISE, csv_project, write_csv


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("fair")
    data = write_csv(root / "people.csv")
    parity = root / "parity.csv"  # a metadata file: row number -> even/odd
    rows = len(data.read_text().splitlines()) - 1
    parity.write_text("row,parity\n" + "".join(f"{i},{'even' if i % 2 == 0 else 'odd'}\n"
                                              for i in range(1, rows + 1)))
    project = csv_project(
        data, groupings=[Grouping(name="group", kind="column", column="group"),
                         Grouping(name="parity", kind="file", file="parity.csv")],
        intersections=[["group", "parity"]])
    run_dir = train_run(project, root / "run")
    from engine.fairness import evaluate_run

    return SimpleNamespace(dir=run_dir, project=project, reports=evaluate_run(run_dir))


def test_the_report_finds_the_constructed_gap_with_its_direction_and_size(run):
    g = run.reports["group"]["group"]
    gap = g.groups["A"]["accuracy"] - g.groups["B"]["accuracy"]
    assert gap == pytest.approx(NOISE, abs=0.12)  # B's labels are NOISE wrong
    assert g.ranked("accuracy")[0] == "B"  # worst first
    # B's points are shifted towards class 1: it is selected more often
    extremes = g.to_dict()["extremes"]["selection_rate"]
    assert (extremes["lowest"], extremes["highest"]) == ("A", "B")
    selection = g.groups["B"]["selection_rate"] - g.groups["A"]["selection_rate"]
    assert selection > 0.2
    assert g.gaps["demographic_parity_difference"] == pytest.approx(selection)


def test_small_groups_are_flagged_and_left_out_of_the_gaps(run):
    g = run.reports["group"]["group"]
    assert g.groups["C"]["count"] < 30 <= g.groups["B"]["count"]
    assert g.small == ["C"]
    assert "C" not in g.ranked() and "C" not in g.to_dict()["ranking"]
    rows = {r["group"]: r for r in g.to_dict()["groups"]}
    assert rows["C"]["small"] and not rows["A"]["small"]
    rates = [g.groups[k]["selection_rate"] for k in ("A", "B")]
    assert g.gaps["demographic_parity_difference"] == pytest.approx(max(rates) - min(rates))


def test_the_group_column_is_not_a_model_input(run):
    from engine.data import load_dataset

    assert load_dataset(run.project.dataset).input_shape == (2,)  # x1, x2; not group


def test_intersections_combine_the_groups_of_each_sample(run):
    both = run.reports["group x parity"]["group x parity"]
    group, parity = run.reports["group"]["group"], run.reports["parity"]["parity"]
    assert set(both.groups) <= {f"{a} / {b}" for a in "ABC" for b in ("even", "odd")}
    for a in group.groups:
        assert sum(both.groups[k]["count"] for k in both.groups if k.startswith(a + " /")) \
            == group.groups[a]["count"]
    assert sum(r["count"] for r in parity.groups.values()) == 300


def test_evaluation_writes_fairness_json_and_the_card_shows_it(run):
    from engine.export.card_fairness import section

    saved = json.loads((run.dir / "fairness.json").read_text())
    assert set(saved["groupings"]) == {"group", "parity", "group x parity"}
    assert saved["positive"] == "1" and saved["split"] == "val"
    lines = section(SimpleNamespace(origin=run.dir, project=run.project))
    text = "\n".join(lines)
    assert lines[:3] == ["", "## Fairness", ""]
    assert "| C (too few to judge) |" in text and "| A |" in text
    assert "Demographic parity: difference" in text


def test_cli_prints_the_table_and_json(run):
    table = run_cli("evaluate", str(run.dir), "--group", "group")
    assert table.code == 0, table.text
    assert "accuracy" in table.out and "C*" in table.out and "demographic parity" in table.out
    data = run_cli("evaluate", str(run.dir), "--group", "group", "--min-group", "5", "--json")
    assert data.code == 0, data.text
    report = json.loads(data.out)
    assert list(report["groupings"]) == ["group"] and report["min_group"] == 5
    assert report["groupings"]["group"]["small"] == []  # C has 5 or more now


def test_an_unknown_column_is_a_sentence_not_a_traceback(run):
    result = run_cli("evaluate", str(run.dir), "--group", "colour")
    assert result.code != 0 and result.escaped is None
    assert "grouping 'colour': the data has no column 'colour'" in result.err
    assert "'group'" in result.err  # the columns are listed


def test_a_model_input_used_as_a_grouping_is_noted(run, tmp_path: Path):
    from engine.fairness.run import model_input_notes

    p = run.project.model_copy(deep=True)
    p.fairness.groupings = [Grouping(name="x", kind="column", column="x1")]
    assert "reads column 'x1' as an input" in model_input_notes(p)[0]
    assert model_input_notes(run.project) == []


def test_plain_evaluate_writes_the_report_of_the_projects_groupings(run):
    (run.dir / "fairness.json").unlink()
    result = run_cli("evaluate", str(run.dir))
    assert result.code == 0, result.text
    assert "bias report:" in result.out and "accuracy" in result.out
    assert set(json.loads((run.dir / "fairness.json").read_text())["groupings"]) == {
        "group", "parity", "group x parity"}
