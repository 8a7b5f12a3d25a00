"""Remote runs: start a detached job on a host, follow its events, steer and download it.

The host-side layout (under the host's base_dir)::

    engine/<hash>/engine/...     the uploaded engine, one folder per engine version
    data/<checksum>/<name>       uploaded dataset files, one folder per content checksum
    runs/<run id>/               the run folder (see engine.remote.agent)

Locally, the run folder gets ``remote.json`` (where the run lives) and a byte-for-byte
mirror of the remote ``events.jsonl``, so re-attaching continues from the last seen seq
(no event lost, none repeated) and ``evaluate``/``sample``/``export`` work on the
downloaded artifacts.
"""

from __future__ import annotations

import json
import secrets
import shlex
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.errors import UserError
from engine.project import Project, atomic_write_text
from engine.remote.agent import CONTROL, EXIT, JOB, LOG
from engine.remote.bundle import (
    DatasetUpload,
    dataset_upload,
    engine_bundle,
    file_sha256,
    files_digest,
    local_dataset_meta,
    relocate,
    restore_dataset,
)
from engine.remote.config import (
    RemoteError,
    RunRecord,
    device_host,
    now_stamp,
    record_run,
)
from engine.remote.fetch import remote_checksums
from engine.remote.hostkeys import HostKeyError
from engine.remote.slurm import JobWatch, cancel_if_queued, ended_event, resubmit, submit
from engine.remote.slurm_jobs import job_state
from engine.remote.ssh import BytesProgress, HostInfo, RemoteHost
from engine.train.events import TERMINAL, Event, Failed, Status, from_json
from engine.train.usage import price_of

META = "remote.json"
ARTIFACTS = ("project.lforge", "metrics.csv", "weights.safetensors", "evaluation.json",
             "data.json", "usage.json", LOG)
ARTIFACT_DIRS = ("checkpoints", "samples")
q = shlex.quote
Say = Callable[[str], None]


def push_engine(host: RemoteHost, info: HostInfo) -> str:
    """Upload the engine unless this version is already on the host; its folder."""
    version, tar = engine_bundle()
    root = f"{info.base_dir}/engine"
    dest = f"{root}/{version}"
    if host.exists(f"{dest}/.complete"):
        return dest
    host.makedirs(root)
    archive = f"{root}/{version}.tar.gz"
    host.write_bytes(archive, tar)
    unpack = "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter='data')"
    code, _, err = host.run(
        f"rm -rf {q(dest + '.tmp')} && {q(host.cfg.python)} -c {q(unpack)} {q(archive)} "
        f"{q(dest + '.tmp')} && rm -rf {q(dest)} && mv {q(dest + '.tmp')} {q(dest)} && "
        f"touch {q(dest + '/.complete')} && rm -f {q(archive)}")
    if code != 0:
        raise RemoteError(f"{host.cfg.name}: unpacking the engine failed: {err.strip()[-400:]}")
    return dest


def push_dataset(host: RemoteHost, info: HostInfo, project: Project,
                 progress: BytesProgress | None = None,
                 upload: DatasetUpload | None = None) -> str | None:
    """Upload the project's dataset files (skipped when the same content is there); the
    remote path of the uploaded folder (``upload.root``'s copy), or None for sources that
    need no files."""
    upload = upload or dataset_upload(project.dataset)
    if upload is None:
        return None
    root, files = upload.root, upload.files
    dest = f"{info.base_dir}/data/{files_digest(files)}"
    remote_path = f"{dest}/{root.name}"
    if host.exists(f"{dest}/.complete"):
        return remote_path
    partial = f"{dest}.partial"
    total = sum(p.stat().st_size for p, _ in files)
    done, made = 0, set()
    for path, rel in files:
        target = f"{partial}/{rel}"
        parent = target.rsplit("/", 1)[0]
        if parent not in made:
            host.makedirs(parent)
            made.add(parent)
        base = done

        def each(name: str, n: int, _size: int, base: int = base) -> None:
            if progress is not None:
                progress(name, base + n, total)

        host.put(path, target, each)
        done += path.stat().st_size
    code, _, err = host.run(f"rm -rf {q(dest)} && mv {q(partial)} {q(dest)} && "
                            f"touch {q(dest + '/.complete')}")
    if code != 0:
        raise RemoteError(f"{host.cfg.name}: storing the dataset failed: {err.strip()[-400:]}")
    return remote_path


def host_project(project: Project) -> Project:
    """A copy of the project as the host trains it: a ``remote:NAME`` device (the app's way
    of choosing the host) becomes ``auto`` there, and ``gpus`` stays as chosen."""
    project = project.model_copy(deep=True)
    if device_host(project.training.device) is not None:
        project.training.device = "auto"
    return project


def _launch_command(python: str, engine_dir: str, run_dir: str, gpus: int) -> str:
    py = q(python)
    agent = f"-m engine.remote.agent {q(run_dir)}"
    prog = (f"{py} -m torch.distributed.run --standalone --nproc-per-node {gpus} {agent}"
            if gpus > 1 else f"{py} {agent}")
    # setsid + nohup, no terminal, stdin from /dev/null: the job survives the SSH session
    return (f"cd {q(engine_dir)} && {{ PYTHONPATH={q(engine_dir)} PYTHONUNBUFFERED=1 "
            f"setsid nohup {prog} > {q(run_dir + '/' + LOG)} 2>&1 < /dev/null & echo $!; }}")


def start_run(host: RemoteHost, project: Project, local_dir: str | Path, *, gpus: int = 1,
              say: Say | None = None, progress: BytesProgress | None = None) -> RunRecord:
    """Upload what the run needs and launch it detached on the host. The local folder gets
    ``remote.json``; the run is added to the runs index. Returns its record, whose id is
    the local folder's name plus a random tail (so the folder name is a prefix
    ``runs attach`` takes)."""
    if host.cfg.kind == "slurm":  # a batch job on the cluster (gpus 1: the host's setting)
        return submit(host, project, local_dir, gpus=gpus if gpus > 1 else None, say=say,
                      progress=progress)
    say = say or (lambda s: None)
    upload = dataset_upload(project.dataset)  # a bad dataset is refused before connecting
    info = host.probe()
    problem = info.problem(host.cfg.python)
    if problem:
        raise RemoteError(problem)
    if gpus > 1 and len(info.gpus) < gpus and project.training.device != "cpu":
        raise RemoteError(f"{host.cfg.name} has {len(info.gpus)} GPU(s) but --gpus {gpus} was "
                          "asked for (set training.device=cpu for CPU processes)")
    engine_dir = push_engine(host, info)
    say(f"engine on {host.cfg.name}: {engine_dir}")
    project = host_project(project)
    local_data = {"path": project.dataset.path}
    remote_data = push_dataset(host, info, project, progress, upload)
    if remote_data and upload is not None:
        local_data = relocate(project.dataset, upload, remote_data)
        say(f"dataset on {host.cfg.name}: {remote_data}")
    from engine.remote.init_upload import push_init

    remote_init = push_init(host, info, project, progress)
    if remote_init:
        say(f"starting weights on {host.cfg.name}: {remote_init}")
    run_id, remote_dir = stage_job(host, info, project, local_dir)
    code, out, err = host.run(_launch_command(host.cfg.python, engine_dir, remote_dir, gpus))
    if code != 0 or not out.strip().isdigit():
        raise RemoteError(f"{host.cfg.name}: the run could not be started: {err.strip()[-400:]}")
    local = Path(local_dir).absolute()
    local.mkdir(parents=True, exist_ok=True)
    rec = RunRecord(id=run_id, host=host.cfg.name, local_dir=str(local), remote_dir=remote_dir,
                    project=project.name, started=now_stamp(), gpus=gpus, pid=int(out.split()[-1]))
    atomic_write_text(local / META, json.dumps(rec.model_dump(mode="json") |
                                               local_dataset_meta(local_data), indent=2) + "\n")
    record_run(rec)
    return rec


def stage_job(host: RemoteHost, info: HostInfo, project: Project,
              local_dir: str | Path) -> tuple[str, str]:
    """Make a new run's folder on the host with its job file (an SSH run or a Slurm job);
    (run id, remote folder). The id is the local folder's name plus a random tail
    (several clients may share a host)."""
    name = Path(local_dir).name
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:60] or "run"
    run_id = f"{slug}-{secrets.token_hex(3)}"
    remote_dir = f"{info.base_dir}/runs/{run_id}"
    host.makedirs(remote_dir)
    job = {"project": project.model_dump(mode="json"), "resume": False, "overrides": {},
           "price": price_of(host.cfg)}  # for usage.json: see engine.train.usage
    host.write_bytes(f"{remote_dir}/{JOB}", json.dumps(job).encode())
    return run_id, remote_dir


def send_control(host: RemoteHost, rec: RunRecord, cmd: str) -> None:
    """Ask the remote run to "stop", "pause" or "resume" (it polls its control file)."""
    if cmd not in ("stop", "pause", "resume"):
        raise ValueError(f"unknown control {cmd!r}")
    if rec.job_id and cmd == "stop":
        cancel_if_queued(host, rec)  # a Slurm job still in the queue
    host.append_text(f"{rec.remote_dir}/{CONTROL}", json.dumps({"cmd": cmd}) + "\n")


def is_alive(host: RemoteHost, rec: RunRecord) -> bool:
    """Whether the run's launcher process still runs on the host (zombies count as gone)."""
    if rec.job_id:  # a Slurm job: the scheduler knows
        return job_state(host, rec.job_id).alive
    pid = int(rec.pid)
    code, _, _ = host.run(f"kill -0 {pid} 2>/dev/null && "
                          f"[ \"$(sed 's/^.*) //' /proc/{pid}/stat | cut -c1)\" != Z ] && "
                          f"[ ! -e {q(rec.remote_dir + '/' + EXIT)} ]", timeout=30)
    return code == 0


def _local_tail(events: Path) -> tuple[int, int, Event | None]:
    """(last seq, byte size, last event) of the local mirror, dropping a torn last line."""
    if not events.is_file():
        return 0, 0, None
    data = events.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        events.write_bytes(data)
    seq, last = 0, None
    for line in data.splitlines():
        try:
            last = from_json(line.decode("utf-8"))
            seq = max(seq, last.seq)
        except (ValueError, TypeError):
            continue
    return seq, len(data), last


def follow(host: RemoteHost, rec: RunRecord, *, poll: float = 0.25, reconnect_s: float = 120.0,
           tick: Callable[[], None] | None = None) -> Iterator[Event]:
    """Stream the run's events from the one after the last mirrored locally until a
    terminal event, appending each line to the local events.jsonl. A dropped connection is
    re-opened (for up to ``reconnect_s``); a job that died without a terminal event yields
    one Failed event (also appended remotely).

    ``tick()`` is called between reads (also while reconnecting) on the caller's thread,
    so a caller can send controls over the same connection or end the follow by raising.
    A lost connection is reported as ``Status("reconnecting", why)`` and its return as
    ``Status("connected")`` (session events: never mirrored).
    """
    local_events = Path(rec.local_dir) / "events.jsonl"
    local_events.parent.mkdir(parents=True, exist_ok=True)
    seq, offset, last = _local_tail(local_events)
    if isinstance(last, TERMINAL) and not _resumed(host, rec, offset):
        # already over (e.g. the client died after the end)
        record_run(rec.model_copy(update={"status": last.type}))
        yield last
        return
    remote_events = f"{rec.remote_dir}/events.jsonl"
    buf, last_check, lost_since = b"", time.monotonic(), None
    watch = JobWatch(host, rec) if rec.job_id else None
    if watch is not None:
        last_check = 0.0  # a queued job says so at once
    dropped, drop_news = False, ""

    def note_drop() -> None:  # the link closed between two calls; re-opened at once
        nonlocal dropped, drop_news
        if not dropped and lost_since is None:
            drop_news = f"the connection to {rec.host} was closed"
        dropped = True

    before, host.on_drop = host.on_drop, note_drop
    try:
        with local_events.open("ab") as mirror:
            while True:
                if tick is not None:
                    tick()
                if drop_news:
                    yield Status(state="reconnecting", text=drop_news)
                    drop_news = ""
                try:
                    data = host.read_from(remote_events, offset)
                    if data and watch is not None and (news := watch.saw_events()):
                        yield news  # the job runs (its events say so before squeue does)
                    if not data and time.monotonic() - last_check > 2.0:
                        last_check = time.monotonic()
                        alive, news = watch.check() if watch else (is_alive(host, rec), None)
                        if watch is not None:
                            rec = watch.rec  # with the scheduler's status and reason
                        if news is not None:
                            yield news
                        if not alive:
                            data = host.read_from(remote_events, offset)
                            if not data and not buf:
                                ev = _death(host, rec, seq)
                                host.append_text(remote_events, ev.to_json() + "\n")
                                data = (ev.to_json() + "\n").encode()
                    if lost_since is not None or dropped:
                        if drop_news:  # dropped and re-opened within this one read
                            yield Status(state="reconnecting", text=drop_news)
                            drop_news = ""
                        yield Status(state="connected", text=f"Connected to {rec.host} again")
                    lost_since, dropped = None, False
                except HostKeyError:
                    raise
                except RemoteError as e:
                    if lost_since is None and not dropped:
                        yield Status(state="reconnecting", text=str(e))
                    lost_since = lost_since or time.monotonic()
                    if time.monotonic() - lost_since > reconnect_s:
                        raise RemoteError(f"lost the connection to {rec.host}; the run goes on "
                                          f"there: re-attach with `layerforge runs attach {rec.id}`") from None
                    host.close()
                    time.sleep(min(5.0, 0.5 + (time.monotonic() - lost_since) / 4))
                    continue
                if not data:
                    time.sleep(poll)
                    continue
                offset += len(data)
                buf += data
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    try:
                        ev = from_json(line.decode("utf-8"))
                    except (ValueError, TypeError):
                        ev = None
                    if ev is None or ev.seq > seq + 1:  # misaligned mirror: rescan from the start
                        if offset == len(data):
                            raise RemoteError(f"{remote_events}: events are missing or unreadable")
                        offset, buf = 0, b""
                        break
                    if ev.seq <= seq:
                        continue
                    mirror.write(line + b"\n")
                    mirror.flush()
                    seq = ev.seq
                    if isinstance(ev, TERMINAL):  # recorded first: the consumer may stop here
                        record_run(rec.model_copy(update={"status": ev.type}))
                    yield ev
                    if isinstance(ev, TERMINAL):
                        return
    finally:
        host.on_drop = before

def _resumed(host: RemoteHost, rec: RunRecord, offset: int) -> bool:
    """Whether a run whose local mirror ends with a terminal event goes on: it was resumed
    (it runs, or wrote past the mirror). Without a connection, the mirror is believed."""
    try:
        return is_alive(host, rec) or bool(host.read_from(f"{rec.remote_dir}/events.jsonl",
                                                          offset, 1))
    except HostKeyError:
        raise
    except RemoteError:
        return False


def _death(host: RemoteHost, rec: RunRecord, seq: int) -> Event:
    if rec.job_id:  # the scheduler's reason and the job's output
        return ended_event(host, rec, seq)
    log = host.read_from(f"{rec.remote_dir}/{LOG}", 0).decode("utf-8", "replace")[-4000:]
    last = log.strip().splitlines()[-1] if log.strip() else ""
    return Failed(seq=seq + 1, message="Training failed: the remote training process ended "
                  "without finishing." + (f" Last message: {last[:300]}" if last else ""),
                  detail=log)


def download_artifacts(host: RemoteHost, rec: RunRecord) -> list[str]:
    """Copy the run's artifacts as they are now into the local run folder (names of what
    came). Also mid-run: the last checkpoint, samples and metrics so far. A file whose
    checksum on the host matches the local copy is not downloaded again, and none is
    ever left half-written."""
    local = Path(rec.local_dir)
    sums = remote_checksums(host, rec.remote_dir, ARTIFACTS + ARTIFACT_DIRS)
    prefix = rec.remote_dir + "/"

    def same(remote: str, dest: Path) -> bool:
        want = sums.get(remote.removeprefix(prefix))
        return want is not None and want == file_sha256(dest)

    names = ARTIFACTS + ARTIFACT_DIRS
    # one call: the host's whole listing is checked before anything is written locally
    found = host.get_all([(f"{prefix}{name}", local / name) for name in names], local, same)
    got = [name + ("/" if name in ARTIFACT_DIRS else "")
           for name, there in zip(names, found, strict=True) if there]
    meta_path = local / META
    snap = local / "project.lforge"
    if snap.is_file() and meta_path.is_file():
        # the snapshot names the host's dataset paths; point them back at the local data
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            data = json.loads(snap.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # left as it came: loading it says what is wrong
            return got
        if (isinstance(meta, dict) and isinstance(data, dict)
                and isinstance(data.get("dataset"), dict)
                and restore_dataset(data["dataset"], meta)):
            atomic_write_text(snap, json.dumps(data, indent=2) + "\n")
    return got


def resume_run(host: RemoteHost, rec: RunRecord, *, gpus: int | None = None,
               overrides: dict | None = None, say: Say | None = None) -> RunRecord:
    """Continue a stopped or failed remote run on its host from its last checkpoint (the
    engine's resume is exact). The engine is uploaded again if it changed; the old control
    lines and exit status are cleared so the new job starts clean. Returns the updated
    record (new launcher pid, status running)."""
    if rec.job_id:  # a Slurm run: a new batch job
        return resubmit(host, rec, gpus=gpus, overrides=overrides, say=say)
    info, job = resume_job(host, rec, lambda: is_alive(host, rec), "running", overrides)
    gpus = gpus or rec.gpus or 1
    engine_dir = upload_resume(host, info, rec, job, (CONTROL, EXIT), say)
    code, out, err = host.run(_launch_command(host.cfg.python, engine_dir, rec.remote_dir, gpus))
    if code != 0 or not out.strip().isdigit():
        raise RemoteError(f"{host.cfg.name}: the run could not be resumed: {err.strip()[-400:]}")
    return save_record(rec, status="running", pid=int(out.split()[-1]), gpus=gpus)


def resume_job(host: RemoteHost, rec: RunRecord, alive: Callable[[], bool], doing: str,
               overrides: dict | None) -> tuple[HostInfo, dict]:
    """What an SSH and a Slurm resume check first (the host's Python, the run's folder, that
    it is not ``doing`` any more, a checkpoint), and its job made a resume with
    ``overrides`` and the host's price now (for this segment's cost)."""
    info = host.probe()
    problem = info.problem(host.cfg.python)
    if problem:
        raise RemoteError(problem)
    rd = rec.remote_dir
    if not host.exists(f"{rd}/{JOB}"):
        raise RemoteError(f"{rec.id}: its folder on {rec.host} ({rd}) is gone; nothing to resume")
    if alive():
        raise RemoteError(f"{rec.id} is still {doing} on {rec.host}; re-attach to it with "
                          f"`layerforge runs attach {rec.id}` (or Attach in the app)")
    if not host.exists(f"{rd}/checkpoints/last.safetensors"):
        raise RemoteError(f"{rec.id}: nothing to resume on {rec.host} (no checkpoint was "
                          "written before it ended); train it again instead")
    job = json.loads(host.read_from(f"{rd}/{JOB}", 0).decode("utf-8"))
    job.update(resume=True, overrides=dict(overrides or {}), price=price_of(host.cfg))
    return info, job


def upload_resume(host: RemoteHost, info: HostInfo, rec: RunRecord, job: dict,
                  stale: tuple[str, ...], say: Say | None) -> str:
    """Upload the engine if it changed and the resumed job, and delete the ``stale`` files
    of the attempt before (an old stop line would stop the new job at once; exit.json would
    read as "ended"); the engine's folder on the host."""
    rd = rec.remote_dir
    engine_dir = push_engine(host, info)
    (say or (lambda s: None))(f"engine on {host.cfg.name}: {engine_dir}")
    host.write_bytes(f"{rd}/{JOB}", json.dumps(job).encode())
    code, _, err = host.run("rm -f " + " ".join(q(f"{rd}/{name}") for name in stale))
    if code != 0:
        raise RemoteError(f"{host.cfg.name}: cannot reset {rd}: {err.strip()[-300:]}")
    return engine_dir


def save_record(rec: RunRecord, **changes) -> RunRecord:
    """``rec`` with ``changes``, in the runs index and in the run folder's remote.json."""
    rec = rec.model_copy(update=changes)
    record_run(rec)
    meta = Path(rec.local_dir) / META
    if meta.is_file():
        data = json.loads(meta.read_text(encoding="utf-8"))
        data.update(changes)
        atomic_write_text(meta, json.dumps(data, indent=2) + "\n")
    return rec


def local_record(run_dir: str | Path) -> RunRecord | None:
    """The record of the remote run whose local folder is ``run_dir`` (its remote.json,
    updated from the runs index), or None for a local run."""
    from engine.remote.config import load_runs

    meta = Path(run_dir) / META
    if not meta.is_file():
        return None
    try:
        rec = RunRecord.model_validate(json.loads(meta.read_text(encoding="utf-8")))
    except ValueError as e:
        raise RemoteError(f"{meta}: unreadable ({e})") from None
    rec = rec.model_copy(update={"local_dir": str(Path(run_dir).absolute())})
    try:
        runs = load_runs()
    except UserError:  # an unreadable index: remote.json alone still names the run
        runs = []
    for r in runs:
        if r.id == rec.id:
            return rec.model_copy(update={"status": r.status, "pid": r.pid, "gpus": r.gpus,
                                          "job_id": r.job_id, "nodes": r.nodes,
                                          "reason": r.reason})
    return rec
