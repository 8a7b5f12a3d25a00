"""Host entries and the runs index, stored as JSON in the user config directory.

The directory is ``$LAYERFORGE_CONFIG_DIR`` or ``~/.config/layerforge``. Files are written
atomically. No secret is ever stored here: authentication is by key file, the SSH agent, or
a password kept in the OS keyring (see :mod:`engine.remote.secrets`; the host entry only
says ``"password": true``).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.errors import UserError
from engine.files import read_text
from engine.project import ProjectError, atomic_write_text

CONFIG_ENV = "LAYERFORGE_CONFIG_DIR"
HOSTS_FILE = "hosts.json"
RUNS_FILE = "runs.json"
KNOWN_HOSTS = "known_hosts"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Slurm's --time: minutes, minutes:seconds, hours:minutes:seconds, days-hours,
# days-hours:minutes, days-hours:minutes:seconds (sbatch(1)); UNLIMITED/INFINITE for none
_PLAIN_TIME = re.compile(r"^\d+(?::\d{1,2}){0,2}$")
_DAYS_TIME = re.compile(r"^\d+-\d{1,2}(?::\d{1,2}){0,2}$")
_UNLIMITED = ("UNLIMITED", "INFINITE")
TIME_FORMAT = ("write minutes (90), hours:minutes:seconds (4:00:00) or "
               "days-hours:minutes:seconds (1-00:00:00), or leave it empty for the "
               "partition's default")


def check_time_limit(text: str) -> str:
    """``text`` as a Slurm time limit (stripped; "" = the partition's default); a
    ProjectError naming the field when Slurm would refuse it."""
    value = text.strip()
    if not value or value.upper() in _UNLIMITED:
        return value.upper() if value else ""
    ok = bool(_PLAIN_TIME.match(value) or _DAYS_TIME.match(value))
    if ok:
        days, _, clock = value.rpartition("-")
        parts = [int(p) for p in clock.split(":")]
        if days:  # days-hours[:minutes[:seconds]]: hours < 24, the others < 60
            ok = parts[0] < 24 and all(p < 60 for p in parts[1:])
        else:  # minutes[:seconds] or hours:minutes:seconds: all but the first < 60
            ok = all(p < 60 for p in parts[1:])
    if not ok:
        raise ProjectError(f"Time limit: {value!r} is not in Slurm's format; {TIME_FORMAT}")
    return value


def config_dir() -> Path:
    """The LayerForge config folder (created on first write)."""
    env = os.environ.get(CONFIG_ENV)
    return Path(env).expanduser() if env else Path.home() / ".config" / "layerforge"


class HostConfig(BaseModel):
    """One remote machine. ``host`` may be an alias from ~/.ssh/config; ``port``/``user``
    left unset take the values from there (or the SSH defaults)."""

    model_config = ConfigDict(extra="ignore")

    name: str
    host: str
    port: int | None = Field(None, ge=1, le=65535)
    user: str | None = None
    key: str | None = None  # private key file; None with agent=False: SSH defaults
    agent: bool = False  # authenticate with the running SSH agent only
    password: bool = False  # log in with the password kept in the OS keyring (never here)
    python: str = "python3"  # interpreter on the host (needs torch)
    base_dir: str = "~/.layerforge"  # engine copies, datasets and runs live under it
    #: "ssh": training runs on the host itself; "slurm": the host is a cluster's login
    #: node and training runs as a batch job (sbatch, srun) on the cluster's nodes
    kind: Literal["ssh", "slurm"] = "ssh"
    #: Slurm only: where and how the job runs ("" = the cluster's defaults); time_limit
    #: in Slurm's format (``4:00:00``, ``1-00:00:00``); gpus_per_node 0 = a CPU job
    partition: str = ""
    account: str = ""
    time_limit: str = ""
    nodes: int = Field(1, ge=1, le=1024)
    gpus_per_node: int = Field(0, ge=0, le=64)
    #: what an hour of this machine costs (Slurm: one node), for the cost of each run;
    #: None = not known
    price_per_hour: float | None = Field(None, ge=0.0, le=1_000_000.0)
    currency: str = Field("USD", max_length=8)

    @field_validator("time_limit")
    @classmethod
    def _time_limit(cls, v: str) -> str:
        try:
            return check_time_limit(v)
        except ProjectError as e:
            raise ValueError(str(e)) from None

    def slurm_summary(self) -> str:
        """One line with what a Slurm host's jobs ask for ("" for an SSH host)."""
        if self.kind != "slurm":
            return ""
        parts = [f"partition {self.partition or 'default'}"]
        if self.account:
            parts.append(f"account {self.account}")
        parts.append(f"time limit {self.time_limit or 'the partition default'}")
        gpus = f"{self.gpus_per_node} GPUs each" if self.gpus_per_node else "CPU only"
        parts.append(f"{self.nodes} node{'s' if self.nodes != 1 else ''}, {gpus}")
        if self.price_per_hour is not None:
            parts.append(f"{self.price_per_hour:g} {self.currency} per node-hour")
        return "Slurm cluster: " + ", ".join(parts)

    def describe(self) -> str:
        who = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        auth = ("password in the OS keyring" if self.password else "agent" if self.agent
                else f"key {self.key}" if self.key else "default keys")
        return f"{who}{self.host}{port} ({auth}, python {self.python}, base {self.base_dir})"


#: the host of runs on this machine in the runs index; no remote host may take this name
LOCAL = "local"


class RunRecord(BaseModel):
    """A run in the local runs index (local or remote)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    host: str = LOCAL
    local_dir: str
    remote_dir: str = ""
    project: str = ""
    started: str = ""
    status: Literal["queued", "running", "finished", "stopped", "failed", "unknown"] = "running"
    gpus: int = 0
    pid: int = 0  # the launcher's pid on the host
    #: Slurm hosts: the batch job's id, its nodes, and the scheduler's last word on it
    #: (``Resources``, ``TimeLimit``, ``NodeFail``...; empty when none)
    job_id: str = ""
    nodes: int = 1
    reason: str = ""


REMOTE_PREFIX = "remote:"


def device_host(device: str) -> str | None:
    """The host name of a ``remote:NAME`` training device, else None."""
    return device[len(REMOTE_PREFIX):] if device.startswith(REMOTE_PREFIX) else None


def check_name(name: str) -> str:
    """A host name for the config: letters, digits, ``_.-``; else a UsageError-like ProjectError."""
    if not _NAME.match(name):
        raise ProjectError(f"{name!r} is not a usable host name: use letters, digits, '_', '.' "
                           "or '-' (at most 64)")
    if name.lower() == LOCAL:
        raise ProjectError(f"{name!r} is reserved for runs on this machine: give the remote host "
                           "another name (e.g. the machine's own name)")
    return name


def _read(path: Path, key: str) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    hint = "fix or delete the file"
    text = read_text(path, ProjectError, what="a JSON file", hint=hint)
    try:
        data = json.loads(text)
        items = data.get(key, [])
        if not isinstance(items, list):
            raise ValueError(f"'{key}' is not a list")
        return items
    except (ValueError, AttributeError) as e:
        raise ProjectError(f"{path}: unreadable ({e}); {hint}") from None


def _write(path: Path, key: str, items: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"version": 1, key: items}, indent=2) + "\n")


def load_hosts() -> dict[str, HostConfig]:
    """All configured hosts by name."""
    out: dict[str, HostConfig] = {}
    for d in _read(config_dir() / HOSTS_FILE, "hosts"):
        try:
            h = HostConfig.model_validate(d)
        except ValidationError as e:
            raise ProjectError(f"{config_dir() / HOSTS_FILE}: bad host entry: {e}") from None
        out[h.name] = h
    return out


def save_hosts(hosts: dict[str, HostConfig]) -> None:
    _write(config_dir() / HOSTS_FILE, "hosts",
           [h.model_dump(mode="json") for h in sorted(hosts.values(), key=lambda h: h.name)])


def get_host(name: str) -> HostConfig:
    """The host called ``name``; a ProjectError naming the known ones when absent."""
    hosts = load_hosts()
    if name not in hosts:
        known = ", ".join(sorted(hosts)) or "none yet"
        raise ProjectError(f"no remote host named {name!r} (configured: {known}); add it with "
                           "`layerforge remote add NAME --host HOST`")
    return hosts[name]


def check_host(host: HostConfig, *, replace: bool = False,
               previous: str | None = None) -> dict[str, HostConfig]:
    """Refuse an entry that may not be saved (a bad or reserved name, or the name of
    another host without ``replace``; ``previous`` is the name of the entry being edited,
    which may keep its name); the hosts configured now. Writes nothing: callers validate
    with it before asking for or storing anything (a password goes to the keyring last)."""
    check_name(host.name)
    hosts = load_hosts()
    if host.name in hosts and not replace and host.name != previous:
        raise ProjectError(f"a host named {host.name!r} exists already; choose another name, "
                           "or remove or replace that host first (--replace on the command "
                           "line)")
    return hosts


def add_host(host: HostConfig, *, replace: bool = False) -> None:
    """Add (or with ``replace``, overwrite) a host entry; see :func:`check_host`."""
    hosts = check_host(host, replace=replace)
    hosts[host.name] = host
    save_hosts(hosts)


def remove_host(name: str) -> None:
    hosts = load_hosts()
    if name not in hosts:
        raise ProjectError(f"no remote host named {name!r}")
    del hosts[name]
    save_hosts(hosts)


# --- runs index ----------------------------------------------------------------------------
def load_runs() -> list[RunRecord]:
    """Every remote run in the index; a ProjectError naming the file for a bad entry."""
    out = []
    for d in _read(config_dir() / RUNS_FILE, "runs"):
        try:
            out.append(RunRecord.model_validate(d))
        except ValidationError as e:
            raise ProjectError(f"{config_dir() / RUNS_FILE}: bad run entry: "
                               f"{e.errors()[0]['msg']} (fix or delete the file; the run "
                               "folders themselves are untouched)") from None
    return out


def record_run(rec: RunRecord) -> None:
    """Insert or update (by id) a run in the index."""
    runs = [r for r in load_runs() if r.id != rec.id] + [rec]
    _write(config_dir() / RUNS_FILE, "runs", [r.model_dump(mode="json") for r in runs])


def find_run(ref: str) -> RunRecord:
    """A run by id (or unique id prefix) or by its local folder."""
    runs = load_runs()
    for r in runs:
        if r.id == ref or Path(r.local_dir) == Path(ref).expanduser().absolute():
            return r
    hits = [r for r in runs if r.id.startswith(ref)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise ProjectError(f"no run {ref!r} in the runs index (see `layerforge runs list`)")
    raise ProjectError(f"{ref!r} matches several runs: {', '.join(r.id for r in hits)}")


def now_stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


class RemoteError(UserError):
    """A remote operation failed; the message is a sentence for the user (the CLI prints it
    like any other user-facing error)."""
