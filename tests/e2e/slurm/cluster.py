"""A throw-away one-node Slurm cluster on this machine (munged, slurmctld, slurmd).

Everything lives in one folder: munge's key and socket, slurm.conf, the state and spool
folders, pid and log files. The daemons listen on free ports on 127.0.0.1; client commands
find the cluster through ``SLURM_CONF`` (slurm.conf names munge's socket in ``AuthInfo``).
The node is this machine under its real host name, with its real CPU count, in one CPU
partition ``cpu``. Runs as root (SlurmUser=root), as the tests do.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SBIN = Path("/usr/sbin")


def installed() -> str | None:
    """Why the cluster cannot start here (a sentence), or None when it can."""
    for tool in ("slurmctld", "slurmd", "munged"):
        if not (SBIN / tool).exists() and shutil.which(tool) is None:
            return (f"{tool} is not installed (Debian: apt-get install slurm-wlm munge; "
                    "packaging/system-deps.sh does it)")
    if shutil.which("sbatch") is None:
        return "the Slurm client commands are not installed (apt-get install slurm-client)"
    if os.geteuid() != 0:
        return "the test cluster runs its daemons as root (SlurmUser=root)"
    return None


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _cpus() -> int:
    out = subprocess.run([str(SBIN / "slurmd"), "-C"], capture_output=True, text=True).stdout
    for part in out.split():
        if part.startswith("CPUs="):
            return int(part[5:])
    return os.cpu_count() or 1


@dataclass
class Cluster:
    folder: Path
    conf: Path
    node: str
    cpus: int
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """What a client command needs to reach this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(list(cmd), env=os.environ | self.env, capture_output=True,
                           text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)}: {r.stdout}{r.stderr}")
        return r

    def logs(self) -> str:
        out = []
        for name in ("slurmctld.log", "slurmd.log", "munged.log"):
            p = self.folder / name
            if p.is_file():
                out.append(f"--- {name}\n" + p.read_text(errors="replace")[-3000:])
        return "\n".join(out)


def _conf(folder: Path, node: str, cpus: int, ctld: int, slurmd: int) -> str:
    return f"""\
ClusterName=lftest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ctld}
SlurmdPort={slurmd}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder}/munge.socket,cred_expire=5
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig={folder}/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000,sched_interval=1
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
JobRequeue=1
MinJobAge=120
KillWait=30
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
Waittime=0
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=cpu Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


def start_cluster(folder: Path, timeout: float = 30.0) -> Cluster:
    """Start munged, slurmctld and slurmd in ``folder``; return when the node is idle."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    for sub in ("state", "spool"):
        (folder / sub).mkdir(exist_ok=True)
    key = folder / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    (folder / "plugstack.conf").write_text("")
    node, cpus = socket.gethostname().split(".")[0], _cpus()
    ctld, slurmd = _free_ports(2)
    conf = folder / "slurm.conf"
    conf.write_text(_conf(folder, node, cpus, ctld, slurmd))
    cluster = Cluster(folder, conf, node, cpus)
    env = os.environ | cluster.env
    devnull = subprocess.DEVNULL
    try:
        cluster.procs.append(subprocess.Popen(
            [str(SBIN / "munged"), "-F", "--force", f"--socket={folder}/munge.socket",
             f"--key-file={key}", f"--pid-file={folder}/munged.pid",
             f"--log-file={folder}/munged.log", f"--seed-file={folder}/munged.seed"],
            stdin=devnull, stdout=devnull, stderr=devnull))
        _wait(lambda: (folder / "munge.socket").exists(), timeout, cluster, "munged")
        cluster.procs.append(subprocess.Popen(
            [str(SBIN / "slurmctld"), "-D", "-i", "-f", str(conf)], env=env,
            stdin=devnull, stdout=devnull, stderr=devnull))
        cluster.procs.append(subprocess.Popen(
            [str(SBIN / "slurmd"), "-D", "-f", str(conf)], env=env,
            stdin=devnull, stdout=devnull, stderr=devnull))
        _wait(lambda: _idle(cluster), timeout, cluster, "the node")
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def _idle(cluster: Cluster) -> bool:
    r = cluster.run("sinfo", "-h", "-N", "-o", "%t", check=False)
    return r.returncode == 0 and r.stdout.strip() == "idle"


def _wait(ready, timeout: float, cluster: Cluster, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        for p in cluster.procs:
            if p.poll() is not None:
                raise RuntimeError(f"{p.args[0]} exited ({p.returncode}):\n{cluster.logs()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up in {timeout:.0f} s:\n{cluster.logs()}")
        time.sleep(0.1)


def stop_cluster(cluster: Cluster) -> None:
    """Cancel what is left, then end the daemons (slurmd first, munged last)."""
    if len(cluster.procs) >= 2:
        cluster.run("scancel", "--full", "-u", "root", check=False)
    for p in reversed(cluster.procs):
        p.terminate()
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    cluster.procs.clear()
