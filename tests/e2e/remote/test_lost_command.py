"""A command cut off by a lost connection is a connection error, never an exit status: the
follower asks the host whether the run's process still runs, and a check that the link
cut short used to read as "the process is gone", so a paused run was reported failed
(the flaky reconnect test of the app's remote training)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from engine.remote.config import RunRecord
from engine.remote.runs import is_alive
from engine.remote.ssh import RemoteError, RemoteHost
from tests.e2e.remote.conftest import host_config


def _cut_while_running(sshd, host: RemoteHost, call) -> list:
    """Run ``call()`` on a thread and kill the server side of the connection while it runs;
    what it returned or raised."""
    host.connect()
    before = set(sshd.session_pids())
    out: list = []

    def go() -> None:
        try:
            out.append(call())
        except RemoteError as e:
            out.append(e)

    t = threading.Thread(target=go)
    t.start()
    time.sleep(1.0)  # the command runs on the host
    for pid in sshd.session_pids():
        if pid in before:
            os.kill(pid, signal.SIGKILL)
    t.join(30)
    assert not t.is_alive() and len(out) == 1
    return out


def test_a_command_cut_off_raises_instead_of_returning_a_status(sshd, env) -> None:
    with RemoteHost(host_config("h", sshd, env.remote_base), lambda *a: True) as host:
        (result,) = _cut_while_running(sshd, host, lambda: host.run("sleep 5; echo done"))
        assert isinstance(result, RemoteError), result
        assert "lost" in str(result)
        assert host.run("echo back")[:2] == (0, "back\n")  # the next call connects again


def test_a_live_run_is_never_reported_dead_because_the_check_was_cut(sshd, env, tmp_path,
                                                                    monkeypatch) -> None:
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        rec = RunRecord(id="r1", host="h", remote_dir=str(tmp_path), local_dir=str(tmp_path),
                        pid=alive.pid)
        with RemoteHost(host_config("h", sshd, env.remote_base), lambda *a: True) as host:
            assert is_alive(host, rec)
            real = host.run
            # the check's command takes a while on a busy host: the cut lands while it runs
            monkeypatch.setattr(host, "run", lambda cmd, timeout=120: real(f"sleep 5; {cmd}",
                                                                          timeout))
            (result,) = _cut_while_running(sshd, host, lambda: is_alive(host, rec))
            assert isinstance(result, RemoteError), f"the live run was reported {result}"
    finally:
        alive.kill()
        alive.wait()
