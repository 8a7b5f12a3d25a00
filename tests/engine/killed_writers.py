"""Real writer processes held in the middle of a write, to be SIGKILLed or let go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# atomic_write_bytes, held after its temp file is written and synced, before the rename
SAVE = """
import os, sys
from engine.project import atomic_write_bytes
real_fsync = os.fsync
def held(fd):
    real_fsync(fd)
    print("ready", flush=True)
    sys.stdin.readline()
os.fsync = held
atomic_write_bytes(sys.argv[1], b"\\0" * 1_000_000)
"""

# an export's staging folder, held after a file is staged, before the commit
EXPORT = """
import sys
from pathlib import Path
from engine.export.common import staged
with staged(Path(sys.argv[1])) as stage:
    stage.path("model.onnx").write_bytes(b"\\0" * 1_000_000)
    print("ready", flush=True)
    sys.stdin.readline()
"""


def held_writer(code: str, target: Path) -> subprocess.Popen[str]:
    """Start ``code`` writing ``target``; return once it says it is mid-write."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", f"the writer did not start: {line!r}"
    return proc


def kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the writer and reap it (a zombie's pid still looks alive)."""
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


def let_finish(proc: subprocess.Popen[str]) -> int:
    proc.communicate(timeout=60)  # closes stdin: every held step goes on
    return proc.returncode


def hidden(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.name.startswith(".")}
