"""A throw-away PostgreSQL server for tests (Debian's, version 15 on Debian 12): its own data
folder in /tmp, a Unix socket only (no TCP), no fsync, small memory; stopped and deleted when
the test is done. Pytest tests use the fixtures in tests/engine/sweep/conftest.py.

PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the system
`postgres` user (created by Debian's `postgresql` package, which `make system-deps` installs),
in a folder that user owns. Run as any other user, it simply runs as that user.

    pg = start_postgres()
    url = pg.create_database("sweeps")   # postgresql+psycopg://postgres@/sweeps?host=...
    ...
    pg.stop()

The server gets a parent-death signal (SIGQUIT, PostgreSQL's immediate shutdown): if the
test process dies without its teardown (kill -9), the server goes down with it.
"""

from __future__ import annotations

import ctypes
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from engine.tempfiles import pid_alive

# Debian keeps the server binaries off PATH, in /usr/lib/postgresql/<major>/bin.
_DEBIAN_BIN_DIRS = "/usr/lib/postgresql/*/bin"
_SERVER_USER = "postgres"
_PR_SET_PDEATHSIG = 1
_PREFIX = "lf-pg-"
_OWNER = "owner.pid"  # the test process's pid, for _remove_orphans
MISSING = ("PostgreSQL server binaries (initdb, postgres) not found; install them with "
           "`make system-deps` (Debian's postgresql package)")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries on this machine (the caller skips its test)."""


def find_bin_dir() -> Path | None:
    """The folder holding initdb and postgres (Debian's newest major version first, then
    PATH), or None when PostgreSQL is not installed."""
    debian = sorted(glob.glob(_DEBIAN_BIN_DIRS), key=lambda d: _major(Path(d).parent.name))
    found = shutil.which("initdb")
    candidates = [*reversed(debian), *([str(Path(found).parent)] if found else [])]
    for folder in candidates:
        if all(os.access(Path(folder, b), os.X_OK) for b in ("initdb", "postgres")):
            return Path(folder)
    return None


def _major(version: str) -> int:
    return int(version) if version.isdigit() else -1


@dataclass
class Postgres:
    """A running server: `folder` holds the data dir, the socket and the log."""

    folder: Path
    user: str
    proc: subprocess.Popen
    start_seconds: float

    @property
    def socket_dir(self) -> Path:
        return self.folder

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL for psycopg 3 over the Unix socket (no password: trust auth)."""
        return f"postgresql+psycopg://{self.user}@/{database}?host={self.socket_dir}"

    def connect(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(host=str(self.socket_dir), user=self.user, dbname=database,
                               autocommit=True, connect_timeout=5)

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Immediate shutdown (SIGQUIT: no checkpoint, the data is thrown away anyway), then
        delete the folder. Safe to call twice."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.folder, ignore_errors=True)


def _as_server_user(uid: int | None, gid: int | None):
    """preexec_fn: drop root for the server user, then ask for SIGQUIT when the test process
    dies (the kernel clears that request on a uid change, so it must come after). libc is
    loaded here, before the fork: the child only calls into it."""
    libc = ctypes.CDLL(None, use_errno=True)

    def run() -> None:
        if uid is not None:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)

    return run


def _run(args: list[str], preexec, folder: Path) -> None:
    r = subprocess.run(args, preexec_fn=preexec, capture_output=True, text=True, cwd=folder,
                       stdin=subprocess.DEVNULL, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed ({r.returncode}): {r.stdout}{r.stderr}")


def start_postgres(timeout: float = 30.0) -> Postgres:
    """initdb a fresh cluster in a new temp folder and start a server on a Unix socket there.
    Raises PostgresUnavailable when the binaries are missing."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable(MISSING)
    started = time.perf_counter()
    uid = gid = None
    user = pwd.getpwuid(os.getuid()).pw_name
    _remove_orphans()
    # short path: the socket path (folder + "/.s.PGSQL.5432") must fit in 107 bytes
    folder = Path(tempfile.mkdtemp(prefix=_PREFIX, dir="/tmp"))
    (folder / _OWNER).write_text(str(os.getpid()))
    if os.getuid() == 0:
        try:
            entry = pwd.getpwnam(_SERVER_USER)
        except KeyError:
            shutil.rmtree(folder)
            raise PostgresUnavailable(f"no `{_SERVER_USER}` user to run PostgreSQL as (it "
                                      "refuses root); " + MISSING) from None
        uid, gid, user = entry.pw_uid, entry.pw_gid, _SERVER_USER
        os.chown(folder, uid, gid)
    preexec = _as_server_user(uid, gid)
    data = folder / "data"
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--auth=trust",
              "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C"], preexec, folder)
        settings = {"listen_addresses": "", "unix_socket_directories": str(folder),
                    "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                    "shared_buffers": "16MB", "max_connections": "60"}
        args = [str(bin_dir / "postgres"), "-D", str(data)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        log = open(folder / "server.log", "w")  # noqa: SIM115 - the server writes it all its life
        if uid is not None:
            os.chown(folder / "server.log", uid, gid)
        proc = subprocess.Popen(args, preexec_fn=preexec, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=folder)
        log.close()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    pg = Postgres(folder, user, proc, 0.0)
    _wait_ready(pg, started + timeout)
    pg.start_seconds = time.perf_counter() - started
    return pg


def _remove_orphans() -> None:
    """Delete the folders of test processes that died without their teardown (kill -9):
    their servers went down with them (parent-death signal), their data stayed."""
    for folder in Path("/tmp").glob(f"{_PREFIX}*"):
        try:
            owner = int((folder / _OWNER).read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being made
        if not pid_alive(owner) and not pid_alive(_server_pid(folder)):
            shutil.rmtree(folder, ignore_errors=True)


def _server_pid(folder: Path) -> int:
    try:
        return int((folder / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return 0


def _wait_ready(pg: Postgres, deadline: float) -> None:
    import psycopg

    while True:
        if pg.proc.poll() is not None:
            log = pg.log()
            pg.stop()
            raise RuntimeError(f"PostgreSQL exited at start ({pg.proc.returncode}):\n{log}")
        try:
            pg.connect().close()
            return
        except psycopg.OperationalError:
            if time.perf_counter() > deadline:
                log = pg.log()
                pg.stop()
                raise RuntimeError(f"PostgreSQL did not accept connections:\n{log}") from None
            time.sleep(0.05)
