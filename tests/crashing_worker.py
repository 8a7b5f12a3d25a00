"""A training worker that crashes on purpose, for tests: the real worker protocol
(:func:`engine.train.worker.main`) with a crash where a test asks for one. The engine has
no test hooks of its own; tests start this instead of the worker::

    python -m tests.crashing_worker segv           SIGSEGV once the job has arrived
    python -m tests.crashing_worker kill-after N   SIGKILL once epoch N is over (its
                                                   checkpoints written, the next epoch begun)
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import IO


def command(*args: str) -> list[str]:
    """The command line that starts this worker with this interpreter."""
    return [sys.executable, "-m", "tests.crashing_worker", *args]


class _Jobs:
    """stdin as the worker reads it: crash right after the job line arrives."""

    def __init__(self, real: IO[str]) -> None:
        self.real = real

    def readline(self) -> str:
        line = self.real.readline()
        if line.strip():
            print("worker: crashing on purpose (test)", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGSEGV)
        return line

    def __iter__(self):
        return iter(self.real)


class _Events:
    """stdout as the worker writes it: die before the first event of epoch ``after + 1``."""

    def __init__(self, real: IO[str], after: int) -> None:
        self.real, self.after = real, after

    def write(self, text: str) -> int:
        for line in text.splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("type") == "progress" and ev.get("epoch", 0) > self.after:
                self.real.flush()
                os.kill(os.getpid(), signal.SIGKILL)
        return self.real.write(text)

    def flush(self) -> None:
        self.real.flush()


def main(argv: list[str]) -> int:
    from engine.train import worker

    proto = sys.stdout
    sys.stdout = sys.stderr  # as the worker does: the protocol channel stays clean
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if argv[:1] == ["segv"]:
        return worker.main(_Jobs(sys.stdin), proto)  # type: ignore[arg-type]
    if argv[:1] == ["kill-after"]:
        return worker.main(sys.stdin, _Events(proto, int(argv[1])))  # type: ignore[arg-type]
    print(f"usage: {__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
