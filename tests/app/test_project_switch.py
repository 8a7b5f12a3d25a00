"""Switching projects leaves nothing of the previous one on screen (issue 14, point 2)."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout

from app.panels.evaluation import NO_RUN as NO_EVALUATION
from app.panels.samples import EMPTY, NO_RUN, NONE, TEXT, SamplesPanel
from app.panels.training import READY_TEXT
from app.runs.records import add_run_ref
from engine.project import load_project
from engine.train.events import EpochEnded, Failed, Progress, RunStarted
from tests.app.conftest import write_chain
from tests.app.runfolders import write_run


def saved_project_with_run(folder, name: str):
    """A saved project in ``folder`` with one finished run beside it (recorded)."""
    folder.mkdir()
    path = write_chain(folder / f"{name}.lforge")
    project = load_project(path)
    run = write_run(folder / "runs" / f"{name}-1", project)
    (run / "evaluation.json").write_text('{"val": {"accuracy": 0.75, "loss": 0.5}}')
    project.runs = []
    return path, run


def open_and_record(ws, path, run) -> None:
    assert ws.files.open_path(str(path), confirm=False)
    add_run_ref(ws.document, run)
    ws.files.save()
    ws.training.refresh_runs()


def show_everything(ws, run) -> None:
    """What a user has on screen after looking at a run: its evaluation and samples, its
    curves in the plots (live and overlaid), a failure in the training panel."""
    t, setup = ws.training, ws.setup
    t.runs.select_runs([str(run)])
    assert setup.evaluation_panel.run_dir == str(run)
    for ev in (RunStarted(run_dir=str(run), total_steps=10),
               Progress(epoch=1, step=5, total_steps=10, loss=0.7, losses=[0.9, 0.8, 0.7]),
               EpochEnded(epoch=1, train={"loss": 0.7}, val={"loss": 0.6, "accuracy": 0.7})):
        t.plots.on_event(ev)
        t.panel.on_event(ev)
    t.panel.flush()
    t.panel.on_event(Failed(message="Training failed: out of memory"))


def assert_nothing_of_the_previous_project(ws, run) -> None:
    t, setup = ws.training, ws.setup
    ev = setup.evaluation_panel
    assert ev.run_dir is None and ev.title.text() == NO_EVALUATION
    assert ev.final.text() == "" and ev.status.text() == "" and ev.error.isHidden()
    assert ev.results == {} and ev.metrics_table.rowCount() == 0
    samples = setup.samples_panel
    assert samples.run_dir is None and samples.frames == {}
    assert samples.title.text() == NO_RUN and samples.pages.currentIndex() == EMPTY
    assert len(t.plots.history.series("loss")[0]) == 0
    assert t.plots._overlay_items == []
    assert t.panel.status.text() == READY_TEXT
    assert t.panel.progress.value() == 0 and t.panel.stats.text() == ""
    assert t.panel.epoch_line.text() == "" and t.panel.message.isHidden()
    assert str(run) not in t.runs.run_dirs()


def test_each_view_follows_the_project_opened(ws, tmp_path):
    a, run_a = saved_project_with_run(tmp_path / "a", "alpha")
    b, run_b = saved_project_with_run(tmp_path / "b", "beta")
    open_and_record(ws, b, run_b)
    open_and_record(ws, a, run_a)
    assert ws.training.runs.run_dirs() == [str(run_a)]
    show_everything(ws, run_a)
    assert "alpha-1" in ws.setup.evaluation_panel.title.text()

    assert ws.files.open_path(str(b), confirm=False)
    assert_nothing_of_the_previous_project(ws, run_a)
    assert ws.training.runs.run_dirs() == [str(run_b)]  # the Runs list refilled

    show_everything(ws, run_b)
    assert ws.files.open_path(str(a), confirm=False)
    assert_nothing_of_the_previous_project(ws, run_b)
    assert ws.training.runs.run_dirs() == [str(run_a)]


def test_file_new_resets_the_views(ws, tmp_path):
    a, run_a = saved_project_with_run(tmp_path / "a", "alpha")
    open_and_record(ws, a, run_a)
    show_everything(ws, run_a)
    assert ws.files.new_from_template("")
    assert_nothing_of_the_previous_project(ws, run_a)


def test_samples_never_says_no_run_and_no_samples_at_once(qtbot, tmp_path):
    from tests.app.conftest import chain_project

    panel = SamplesPanel()
    qtbot.addWidget(panel)
    assert panel.title.text() == NO_RUN and panel.pages.currentIndex() == EMPTY
    assert panel.scrub.isHidden()  # no epoch slider for nothing
    run = write_run(tmp_path / "run", chain_project())  # a classification run
    panel.show_run(str(run))
    assert panel.pages.currentIndex() == NONE and "run" in panel.title.text()
    assert panel.title.text() != NO_RUN
    panel.reset()
    assert panel.pages.currentIndex() == EMPTY and panel.title.text() == NO_RUN


def test_samples_generation_form_fits_a_300_px_dock(qtbot):
    panel = SamplesPanel()
    qtbot.addWidget(panel)
    panel.on_event(RunStarted(run_dir="/nowhere/lm-1", task="language_model"))
    assert panel.pages.currentIndex() == TEXT
    form = panel.prompt.parentWidget().layout()
    assert isinstance(form, QFormLayout)
    assert form.rowWrapPolicy() == QFormLayout.RowWrapPolicy.WrapLongRows
    panel.resize(300, 600)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.minimumSizeHint().width() <= 300
