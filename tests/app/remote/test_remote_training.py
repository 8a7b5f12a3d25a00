"""Training on a remote host from the window: Train with device remote:HOST, live events in
the same panels as a local run, Stop / Pause / Resume over SSH, a cut connection, Attach
and Resume from the runs list. A real sshd on 127.0.0.1 and real detached agents."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

from engine.remote.config import add_host, load_runs
from engine.train.events import SESSION, Detached, Finished, Progress, Status, Stopped
from tests.app.remote.conftest import trust_host_key
from tests.app.training.conftest import set_small
from tests.e2e.remote.conftest import host_config


def _events(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]


def _run_folder(ui) -> Path:
    doc = ui.document
    return (Path(doc.path).parent / doc.project.runs[-1].path).resolve()


def _wait_progress(qtbot, runner) -> Progress:
    with qtbot.waitSignal(runner.event_received, timeout=90_000,
                          check_params_cb=lambda ev: isinstance(ev, Progress)) as blocker:
        pass
    return blocker.args[0]


def _record(received: list, runner) -> None:
    """Collect the run's own events (not what the source says about itself)."""
    runner.event_received.connect(
        lambda ev: None if isinstance(ev, SESSION) else received.append(ev))


def _detached(ev) -> bool:
    return isinstance(ev, Detached)


def test_train_runs_on_the_host_and_the_panels_show_it(qtbot, rw, answerer):
    asked = answerer(True).seen
    transfers: list[str] = []
    rw.runner.event_received.connect(
        lambda ev: transfers.append(ev.text) if isinstance(ev, Status) else None)
    received: list = []
    _record(received, rw.runner)
    with qtbot.waitSignal(rw.runner.run_ended, timeout=120_000) as ended:
        assert rw.train_action.isEnabled()
        rw.train_action.trigger()
    assert isinstance(ended.args[0], Finished), ended.args[0]
    assert len(asked) == 1 and "SHA256:" in asked[0]  # the unknown key was asked about
    assert any(t.startswith("Uploading") for t in transfers)
    folder = _run_folder(rw)
    assert rw.document.project.runs[-1].host == "loop"
    for name in ("weights.safetensors", "evaluation.json", "project.lforge",
                 "checkpoints/last.safetensors", "remote.json"):
        assert (folder / name).is_file(), name
    events = _events(folder)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e.seq for e in received] == [e["seq"] for e in events]  # every event, once
    rec = load_runs()[0]
    assert (folder / "events.jsonl").read_bytes() == Path(rec.remote_dir, "events.jsonl").read_bytes()
    assert received[0].run_dir == str(folder)  # the panels are told the local folder
    rw.plots.flush()
    steps, losses = [], []
    for e in events:
        if e["type"] == "progress":
            steps += range(e["step"] - len(e["losses"]) + 1, e["step"] + 1)
            losses += e["losses"]
    x, y = rw.plots.series("loss")
    assert list(x) == steps and list(y) == losses
    val = [e["val"]["accuracy"] for e in events if e["type"] == "epoch_ended"]
    assert list(rw.plots.series("metric")[1]) == val and len(val) == 2
    assert rw.runs.status_of(str(folder)) == "finished"
    assert rw.panel.progress.value() == rw.panel.progress.maximum()
    assert "Finished 2 epochs" in rw.panel.status.text()
    # the downloaded snapshot points at local data: the evaluation views can load the run
    snap = json.loads((folder / "project.lforge").read_text())
    assert snap["training"]["device"] == "auto" and snap["training"]["gpus"] == 1
    for view in rw.result_views:
        assert view.run_dir == str(folder)


def test_stop_pause_and_resume_reach_the_remote_run(qtbot, rw, config_dir, sshd):
    trust_host_key(config_dir, sshd)
    set_small(rw.document, samples=3000, epochs=300, batch=16)
    rw.train_action.trigger()
    _wait_progress(qtbot, rw.runner)
    with qtbot.waitSignal(rw.runner.state_changed, timeout=5000,
                          check_params_cb=lambda s: s == "paused"):
        rw.pause_action.trigger()
    assert rw.resume_action.isEnabled() and not rw.pause_action.isEnabled()
    with qtbot.waitSignal(rw.runner.state_changed, timeout=10_000,
                          check_params_cb=lambda s: s == "running"):
        rw.resume_action.trigger()  # the state follows the run's Resumed event
    with qtbot.waitSignal(rw.runner.run_ended, timeout=60_000) as ended:
        rw.stop_action.trigger()
    stopped = ended.args[0]
    assert isinstance(stopped, Stopped)
    folder = _run_folder(rw)
    controls = Path(load_runs()[0].remote_dir, "control.jsonl").read_text().splitlines()
    assert [json.loads(c)["cmd"] for c in controls] == ["pause", "resume", "stop"]
    qtbot.waitUntil(lambda: rw.runs.status_of(str(folder)) == "stopped", timeout=5000)
    assert "Stopped at epoch" in rw.panel.status.text()
    # Resume from the runs list continues it on the host from its checkpoint
    rw.runs.select_runs([str(folder)])
    assert rw.runs.resume_button.isEnabled()
    received: list = []
    _record(received, rw.runner)
    rw.runs.resume_button.click()
    with qtbot.waitSignal(rw.runner.run_ended, timeout=90_000) as ended:
        _wait_progress(qtbot, rw.runner)
        rw.stop_action.trigger()
    assert isinstance(ended.args[0], Stopped) and ended.args[0].step > stopped.step
    started = [e for e in received if e.type == "run_started"]
    assert len(started) == 1 and started[0].resumed_from == stopped.step
    seqs = [e["seq"] for e in _events(folder)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_cut_connection_reconnects_without_losing_or_repeating_events(qtbot, rw, config_dir,
                                                                       sshd):
    trust_host_key(config_dir, sshd)
    set_small(rw.document, samples=3000, epochs=300, batch=16)
    states: list[str] = []
    shown: list[str] = []  # what the Training panel said at each state (it updates first)
    rw.runner.state_changed.connect(states.append)
    rw.runner.state_changed.connect(lambda _s: shown.append(rw.panel.worker_state.text()))
    received: list = []
    _record(received, rw.runner)
    rw.train_action.trigger()
    _wait_progress(qtbot, rw.runner)
    with qtbot.waitSignal(rw.runner.state_changed, timeout=5000,
                          check_params_cb=lambda s: s == "paused"):
        rw.pause_action.trigger()  # hold the run while the link is down
    control = Path(load_runs()[0].remote_dir, "control.jsonl")
    qtbot.waitUntil(lambda: control.is_file() and '"pause"' in control.read_text(),
                    timeout=10_000)
    for pid in sshd.session_pids():  # the server side of the connection dies
        os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: "reconnecting" in states, timeout=30_000)
    assert "reconnecting…" in shown
    # reconnected, and still paused as the user left it
    qtbot.waitUntil(lambda: states[-1] == "paused" and states.count("paused") == 2,
                    timeout=60_000)
    rw.resume_action.trigger()
    n = len(received)
    qtbot.waitUntil(lambda: len(received) > n + 2, timeout=30_000)  # it goes on, followed
    with qtbot.waitSignal(rw.runner.run_ended, timeout=60_000) as ended:
        rw.stop_action.trigger()  # and the stop goes over the new connection
    assert isinstance(ended.args[0], Stopped)
    events = _events(_run_folder(rw))
    assert [e.seq for e in received] == list(range(1, len(events) + 1))  # no gap, no repeat
    assert [e["seq"] for e in events] == [e.seq for e in received]
    assert (_run_folder(rw) / "weights.safetensors").is_file()


def test_a_detached_run_is_attached_again_on_open_and_from_the_runs_list(
        qtbot, rw, config_dir, sshd, tmp_path):
    trust_host_key(config_dir, sshd)
    set_small(rw.document, samples=3000, epochs=300, batch=16)
    rw.train_action.trigger()
    _wait_progress(qtbot, rw.runner)
    rw.pause_action.trigger()
    with qtbot.waitSignal(rw.runner.run_ended, timeout=30_000, check_params_cb=_detached):
        rw.runner.detach()  # as closing the window right after Pause: the run goes on
    control = Path(load_runs()[0].remote_dir, "control.jsonl")  # the pause was sent first
    assert control.read_text().splitlines() == ['{"cmd": "pause"}']
    folder = _run_folder(rw)
    assert rw.live_run is None and rw.train_action.isEnabled()
    assert rw.runs.status_of(str(folder)) == "detached"
    assert load_runs()[0].status == "running"
    # its files as they are now, fetched while it goes on (paused) on its host
    rw.runs.select_runs([str(folder)])
    assert not (folder / "project.lforge").exists()
    with qtbot.waitSignal(rw.fetcher.finished, timeout=60_000):
        rw.runs.download_button.click()
    assert (folder / "project.lforge").is_file() and (folder / "data.json").is_file()
    assert "Fetched from loop" in rw.window.statusBar().currentMessage()
    assert rw.runs.download_button.isEnabled() and rw.runs.status_of(str(folder)) == "detached"
    # opened again while the host cannot be reached: the run stays detached, not failed
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    add_host(host_config("loop", sshd, tmp_path / "remote").model_copy(
        update={"port": closed_port}), replace=True)
    with qtbot.waitSignal(rw.runner.run_ended, timeout=60_000, check_params_cb=_detached):
        rw.document.project_replaced.emit()  # as opening the project again does
    assert rw.runs.status_of(str(folder)) == "detached" and rw.live_run is None
    assert "goes on on its host" in rw.panel.message.text()
    assert "Attach" in rw.panel.message.text() and rw.panel.message.isVisible()
    # reachable again: opening the project follows the run, paused as it was left
    add_host(host_config("loop", sshd, tmp_path / "remote"), replace=True)
    rw.document.project_replaced.emit()
    assert rw.live_run == str(folder)
    _wait_progress(qtbot, rw.runner)  # the mirrored events are shown again first
    qtbot.waitUntil(lambda: rw.runner.state == "paused", timeout=10_000)
    assert rw.resume_action.isEnabled() and not rw.panel.message.isVisible()
    with qtbot.waitSignal(rw.runner.run_ended, timeout=30_000, check_params_cb=_detached):
        rw.runner.detach()
    # and by hand, from the runs list
    rw.runs.select_runs([str(folder)])
    assert rw.runs.attach_button.isEnabled() and not rw.runs.resume_button.isEnabled()
    received: list = []
    _record(received, rw.runner)
    rw.runs.attach_button.click()
    _wait_progress(qtbot, rw.runner)
    qtbot.waitUntil(lambda: rw.runner.state == "paused", timeout=10_000)
    assert rw.resume_action.isEnabled()
    rw.resume_action.trigger()
    n = len(received)
    qtbot.waitUntil(lambda: len(received) > n + 2, timeout=30_000)
    with qtbot.waitSignal(rw.runner.run_ended, timeout=60_000) as ended:
        rw.stop_action.trigger()
    assert isinstance(ended.args[0], Stopped)
    events = _events(folder)
    assert [e.seq for e in received] == [e["seq"] for e in events]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert rw.runs.status_of(str(folder)) == "stopped"
