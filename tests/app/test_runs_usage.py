"""The Runs list shows what each run cost and the project's total (local and remote runs;
a run without a usage record keeps its epochs' time)."""

from __future__ import annotations

import pytest

from app.panels.runs import COLUMNS, PATH_ROLE, RunsPanel
from app.runs.history import summarize
from tests.app.usage_runs import make_usage_runs


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return make_usage_runs(tmp_path_factory.mktemp("usage-runs"))


def _row(panel: RunsPanel, run_dir) -> dict[str, str]:
    for i in range(panel.tree.topLevelItemCount()):
        item = panel.tree.topLevelItem(i)
        if item.data(0, PATH_ROLE) == str(run_dir):
            return {name: item.text(col) for col, name in enumerate(COLUMNS)}
    raise AssertionError(f"{run_dir} is not listed")


def test_runs_list_shows_each_runs_cost_and_the_project_total(qtbot, folders) -> None:
    local, remote, old = folders
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 300)
    panel.show()
    panel.set_runs([summarize(p) for p in folders])
    header = [panel.tree.headerItem().text(c) for c in range(panel.tree.columnCount())]
    assert header[3:7] == ["Wall time", "Compute", "Peak memory", "Cost"]
    row = _row(panel, local)
    assert row["Compute"].endswith("core-h") and row["Peak memory"].endswith("MB")
    assert row["Cost"].endswith("USD") and row["Wall time"].endswith("s")
    row = _row(panel, remote)
    assert row["Run"].endswith("@ gpu1")
    assert row["Compute"] == "5 GPU-h" and row["Cost"] == "7.65 EUR"
    assert row["Wall time"] == "2 h 30 min" and row["Peak memory"] == "5.2 GB"
    row = _row(panel, old)
    assert row["Wall time"] and row["Compute"] == row["Cost"] == ""  # epochs' time only
    total = panel.total_label.text()
    assert total.startswith("Project total: 2 runs")
    assert "5 GPU-h" in total and "EUR" in total and "USD" in total
    assert "1 run without a usage record" in total
    # no cell of the cost columns is cut short at their default widths
    metrics = panel.tree.fontMetrics()
    for i in range(panel.tree.topLevelItemCount()):
        item = panel.tree.topLevelItem(i)
        for col in range(3, 7):
            assert metrics.horizontalAdvance(item.text(col)) + 12 <= panel.tree.columnWidth(col), (
                item.text(col))


def test_an_updated_record_shows_on_refresh(qtbot, folders) -> None:
    import json

    local = folders[0]
    panel = RunsPanel()
    qtbot.addWidget(panel)
    record = local / "usage.json"
    data = json.loads(record.read_text())
    try:
        record.write_text(json.dumps(data | {"cost": 12.5, "price_per_hour": 1.0}))
        panel.set_runs([summarize(local)])
        assert _row(panel, local)["Cost"] == "12.50 USD"
    finally:
        record.write_text(json.dumps(data))
