"""Parent side of the worker protocol (plain Python, no Qt): spawn ``layerforge worker``,
send the job and control messages, and yield decoded events.

A worker that dies without a terminal event (segfault, OOM kill, non-zero exit) is
reported as a :class:`~engine.train.events.Failed` event carrying the tail of its stderr.
The app's run thread wraps exactly this class; a remote runner speaks the same lines.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from engine.project import Project
from engine.train.events import TERMINAL, Event, Failed, Ready, from_json

STDERR_TAIL = 4000


def worker_command(python: str | None = None) -> list[str]:
    """The command line that starts a local worker with this interpreter. A frozen app
    (PyInstaller) has no interpreter to give ``-m``: its own binary runs ``worker``."""
    if python is None and getattr(sys, "frozen", False):
        return [sys.executable, "worker"]
    return [python or sys.executable, "-m", "engine.train.worker"]


class WorkerClient:
    """One worker process. Start it early (``start``) to have it warm; then ``submit`` a job
    and iterate ``events()``. ``stop``/``pause``/``resume`` may be called from any thread.
    A job submitted with ``reuse=True`` leaves the process waiting for the next job after
    its terminal event: ``submit`` again and iterate ``events()`` again."""

    def __init__(self, command: Sequence[str] | None = None, env: dict[str, str] | None = None,
                 cwd: str | Path | None = None) -> None:
        self.command = list(command or worker_command())
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen[str] | None = None
        self.ready: Ready | None = None
        self._stderr: collections.deque[str] = collections.deque()
        self._stderr_len = 0
        self._lock = threading.Lock()
        self._submitted = False

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Spawn the worker; it imports torch and then waits for a job."""
        if self.proc is not None:
            return
        env = dict(os.environ if self.env is None else self.env)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.proc = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", bufsize=1, env=env, cwd=self.cwd)
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True,
                                               name="worker-stderr")
        self._stderr_thread.start()

    def wait_ready(self) -> Ready | None:
        """Block until the worker said it is ready (None if it died first)."""
        self.start()
        if self.ready is None:
            line = self._readline()
            if line:
                ev = from_json(line)
                if isinstance(ev, Ready):
                    self.ready = ev
        return self.ready

    def submit(self, project: Project | dict[str, Any], run_dir: str | Path, *,
               resume: bool = False, overrides: dict[str, Any] | None = None,
               reuse: bool = False) -> None:
        """Send the job (starts the worker if it is not running yet). With ``reuse`` the
        worker waits for another job after this one's terminal event instead of exiting."""
        self.start()
        data = project.model_dump(mode="json") if isinstance(project, Project) else project
        job = {"project": data, "run_dir": str(run_dir), "resume": resume,
               "overrides": overrides or {}}
        if reuse:
            job["reuse"] = True
        self._send(job)
        self._submitted = True

    def events(self) -> Iterator[Event]:
        """Decoded events until a terminal one; a dead worker yields one Failed event."""
        assert self.proc is not None and self.proc.stdout is not None, "submit a job first"
        while True:
            line = self._readline()
            if not line:
                yield self._death()
                return
            try:
                ev = from_json(line)
            except (ValueError, TypeError) as e:
                self._note_stderr(f"[unreadable worker line: {e}: {line[:200]!r}]\n")
                continue
            if isinstance(ev, Ready):
                self.ready = ev
                continue
            yield ev
            if isinstance(ev, TERMINAL):
                return

    def close(self, timeout: float = 5.0) -> int | None:
        """Close the worker's stdin and wait; kill it if it does not exit in time."""
        proc = self.proc
        if proc is None:
            return None
        try:
            if proc.stdin and not proc.stdin.closed:
                proc.stdin.close()
        except OSError:
            pass
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def __enter__(self) -> WorkerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- control -------------------------------------------------------------------------
    def stop(self) -> None:
        self._send({"cmd": "stop"})

    def pause(self) -> None:
        self._send({"cmd": "pause"})

    def resume(self) -> None:
        self._send({"cmd": "resume"})

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def alive(self) -> bool:
        """Whether the process is started and has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def stderr_tail(self) -> str:
        with self._lock:
            return "".join(self._stderr)[-STDERR_TAIL:]

    # --- internals ----------------------------------------------------------------------
    def _send(self, msg: dict[str, Any]) -> None:
        proc = self.proc
        if proc is None or proc.stdin is None or proc.poll() is not None:
            return
        try:
            with self._lock:
                proc.stdin.write(json.dumps(msg) + "\n")
                proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the worker is gone; events() reports it

    def _readline(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            return self.proc.stdout.readline()
        except (OSError, ValueError):
            return ""

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._note_stderr(line)

    def _note_stderr(self, text: str) -> None:
        with self._lock:
            self._stderr.append(text)
            self._stderr_len += len(text)
            while self._stderr_len > 4 * STDERR_TAIL and len(self._stderr) > 1:
                self._stderr_len -= len(self._stderr.popleft())

    def _death(self) -> Failed:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._stderr_thread.join(timeout=2.0)  # let the last stderr lines arrive
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            how = {"SIGKILL": " (killed, often by the system running out of memory)",
                   "SIGSEGV": " (a crash inside a native library)"}.get(name, "")
            what = f"the training process died from {name}{how}"
        else:
            what = f"the training process exited with status {code} without finishing"
        tail = self.stderr_tail().strip()
        last = tail.splitlines()[-1] if tail else ""
        msg = f"Training failed: {what}." + (f" Last message: {last[:300]}" if last else "")
        return Failed(message=msg, detail=tail)
