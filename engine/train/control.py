"""Thread-safe stop / pause / resume for a running training loop."""

from __future__ import annotations

import threading


class Control:
    """Shared between the loop (which looks at it once per step) and whoever steers the run.

    ``stop()`` takes effect before the next step; ``pause()`` blocks the loop between steps
    until ``resume()`` or ``stop()``.

    ``idle`` is a plain attribute, True while nothing is asked: the loop reads it each step
    and calls :meth:`poll` only when it is False (on a small model a step is ~0.5 ms, and
    two Event look-ups a step were a measurable share). A subclass with its own ``poll``
    (:class:`~engine.train.distributed.SyncedControl`: a collective every step) is never
    idle, so it is polled every step as before.
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._lock = threading.Lock()  # keeps ``idle`` in step with the two events
        self._plain = type(self).poll is Control.poll
        self.idle = self._plain

    def _settle(self) -> None:
        if self._plain:
            self.idle = not self._stop.is_set() and self._running.is_set()

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            self._running.set()  # wake a paused loop so it can stop
            self._settle()

    def pause(self) -> None:
        with self._lock:
            if not self._stop.is_set():
                self._running.clear()
            self._settle()

    def resume(self) -> None:
        with self._lock:
            self._running.set()
            self._settle()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def poll(self) -> str:
        """What the loop should do before its next step, without blocking: ``"stop"``,
        ``"pause"`` (then report it and call :meth:`wait_resumed`) or ``"go"``."""
        if self._stop.is_set():
            return "stop"
        return "pause" if not self._running.is_set() else "go"

    def wait_resumed(self) -> str:
        """Block while paused; then ``"go"`` (resumed) or ``"stop"``."""
        self._running.wait()
        return "stop" if self._stop.is_set() else "go"

    def wait_if_paused(self) -> bool:
        """Block while paused. Returns True when the run should stop."""
        if self.poll() == "pause":
            return self.wait_resumed() == "stop"
        return self._stop.is_set()

    def handle(self, cmd: str) -> bool:
        """Apply a protocol command ("stop", "pause", "resume"); False if unknown."""
        action = {"stop": self.stop, "pause": self.pause, "resume": self.resume}.get(cmd)
        if action is None:
            return False
        action()
        return True
