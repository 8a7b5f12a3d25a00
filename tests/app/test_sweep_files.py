"""A sweep and the project's file: closing the window or opening another project while a
sweep runs asks first ("Stop the sweep and close" or Cancel), and the sweep's settings and
ranges survive Save As and reopening. Real coordinator and worker processes; the sweep is
made long (many trials) so that it is still running when the question comes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.window.features.sweep_leave import STOP_AND_CLOSE
from app.window.features.sweep_study import read_study
from engine.project import SweepSpec, load_project, save_project
from engine.templates import load_template

WAIT_MS = 90_000
RANGES = {"training.lr": "float:0.001..0.1:log", "fc1.out_features": "int:8..64:8"}


def long_sweep(folder: Path, name: str = "long") -> Path:
    """40 trials of 3 epochs: far from done when a test interrupts it."""
    folder.mkdir(parents=True, exist_ok=True)
    project = load_template("mlp")
    project.dataset.samples = 300
    project.training.epochs = 3
    project.sweep = SweepSpec(ranges=dict(RANGES), trials=40, pruner="none", seed=1)
    path = folder / f"{name}.lforge"
    save_project(project, path)
    return path


def start(qtbot, ws, path: Path) -> None:
    ws.document.replace_project(load_project(path), str(path))
    qtbot.waitUntil(lambda: not ws.sweep.study_jobs.busy, timeout=WAIT_MS)
    ws.sweep.run()
    # a trial has started training (its run folder exists)
    qtbot.waitUntil(lambda: any(r.state == "running" for r in ws.sweep.records.values()),
                    timeout=WAIT_MS)


def test_opening_another_project_asks_and_cancel_keeps_the_sweep(qtbot, ws, tmp_path):
    path = long_sweep(tmp_path / "a")
    other = long_sweep(tmp_path / "b", "other")
    start(qtbot, ws, path)
    sweep = ws.sweep
    sweep.leave_answer = "cancel"
    assert not ws.files.open_path(str(other))
    assert ws.document.path == str(path) and sweep.running
    assert sweep.panel.stop_button.isEnabled()

    sweep.leave_answer = "stop"
    assert ws.files.open_path(str(other))
    assert ws.document.path == str(other.resolve())
    # the other project shows at once, none of the first one's trials in it
    assert sweep.view.table.rowCount() == 0
    assert "stopping" in sweep.panel.status.text()
    qtbot.waitUntil(lambda: not sweep.running and sweep.thread is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not sweep.study_jobs.busy, timeout=WAIT_MS)
    assert sweep.snapshot is None and sweep.panel.status.text() == "No sweep yet."
    assert sweep.panel.run_button.isEnabled()
    # the first study is left unfinished, to be resumed
    project = load_project(path)
    snap = read_study(project, path, path.parent / "runs")
    assert snap is not None and snap.unfinished and len(snap.records) < 40


def test_closing_the_window_asks_then_stops_the_sweep_for_resume(qtbot, ws, tmp_path):
    path = long_sweep(tmp_path / "c")
    start(qtbot, ws, path)
    window, sweep = ws.window, ws.sweep
    # Cancel in the real question keeps the window and the sweep
    asked: list[str] = []

    def answer(button: str) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, lambda: answer(button))
            return
        asked.append(box.text())
        chosen = next(b for b in box.buttons() if b.text().replace("&", "") == button)
        chosen.click()

    QTimer.singleShot(0, lambda: answer("Cancel"))
    window.close()
    assert window.isVisible() and sweep.running
    assert "A sweep is running" in asked[0] and "Resume sweep" in asked[0]

    QTimer.singleShot(0, lambda: answer(STOP_AND_CLOSE))
    window.close()
    assert not window.isVisible()
    assert len(asked) == 2  # asked once, though the window and the files both check
    assert not sweep.running  # closing waited for the trials' checkpoints
    snap = read_study(load_project(path), path, path.parent / "runs")
    assert snap is not None and snap.unfinished  # Resume sweep finishes it later
    assert any(r.state == "running" for r in snap.records)


def test_sweep_settings_and_ranges_survive_save_as(qtbot, ws, tmp_path):
    doc, form = ws.document, ws.sweep.panel.settings
    doc.replace_project(load_template("mlp"))
    # as the panels and the range dialog set them: each an undo step through the document
    doc.set_search_range("training.lr", "float:1e-4..1e-1:log")
    doc.set_search_range("model/fc2.out_features", "int:16..128:16")
    for name, value in (("trials", 12), ("objectives", ["val_loss:min", "flops:min"]),
                        ("sampler", "nsga2"), ("pruner", "none"), ("workers", 2),
                        ("hosts", ["gpu1"]), ("seed", 7), ("name", "wide")):
        doc.set_sweep_field(name, value)
    expected = doc.project.sweep.model_copy(deep=True)
    assert expected.ranges == {"training.lr": "float:0.0001..0.1:log",
                               "model/fc2.out_features": "int:16..128:16"}
    target = tmp_path / "saved" / "renamed.lforge"
    target.parent.mkdir()
    assert ws.files.save_to_new(str(target))
    assert load_project(target).sweep == expected  # written to the new file

    ws.document.replace_project(load_template("mlp"))
    assert form.trials.value() == 20
    assert ws.files.open_path(str(target))
    assert doc.project.sweep == expected
    # the form shows what was saved
    assert form.trials.value() == 12 and form.seed.value() == 7
    assert form.first.currentText() == "val_loss:min"
    assert form.second.currentText() == "flops:min"
    assert form.sampler.currentText() == "nsga2" and form.pruner.currentText() == "none"
    assert form.workers.value() == 2 and form.name.text() == "wide"
    assert "model/fc2.out_features  =  int:16..128:16" in form.ranges.text()
    assert form.hosts.chosen == ["gpu1"]  # not configured here, still listed to untick
    assert form.hosts.boxes["gpu1"].isChecked()


def test_save_as_elsewhere_keeps_the_study_and_its_trials(qtbot, ws, tmp_path):
    """The study lives beside the old file under the old file's name: Save As into another
    folder under another name pins it in the new file (name and storage), so the
    Experiment view still shows its trials and Resume sweep can finish them."""
    path = long_sweep(tmp_path / "first")
    start(qtbot, ws, path)
    sweep = ws.sweep
    sweep.stop()
    qtbot.waitUntil(lambda: not sweep.running and sweep.thread is None, timeout=WAIT_MS)
    before = read_study(load_project(path), path, path.parent / "runs")
    assert before is not None and before.records

    target = tmp_path / "second" / "renamed.lforge"
    target.parent.mkdir()
    assert ws.files.save_to_new(str(target))
    saved = load_project(target)
    assert saved.sweep.name == "long" and saved.sweep.storage.startswith("sqlite:///")
    after = read_study(saved, target, target.parent / "runs")
    assert after is not None
    assert [(r.number, r.state) for r in after.records] == \
        [(r.number, r.state) for r in before.records]
    qtbot.waitUntil(lambda: not sweep.study_jobs.busy, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: sweep.view.table.rowCount() == len(before.records),
                    timeout=WAIT_MS)
