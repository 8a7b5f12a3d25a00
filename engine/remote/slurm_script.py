"""The batch script of a LayerForge training job on a Slurm cluster.

One batch job per run attempt chain: ``--requeue`` lets Slurm put it back in the queue after
a preemption, a node failure or ``scontrol requeue``, and ``--signal=B:USR1@SECONDS`` warns
the batch shell before the time limit. The script

1. readies the run folder (``slurm_agent prepare``: resume from the last checkpoint when
   there is one; clear the attempt before's control and exit files);
2. starts the training with ``srun``: a GPU job runs one task per node, each a ``torchrun``
   with one process per GPU; a CPU job runs one task per process (Slurm gives each its
   CPUs), each a ``torchrun`` of one process. The torchruns meet in the c10d rendezvous on
   the first node (every rank on its node; rank 0 alone writes the run folder); a job of
   one process runs it without torchrun;
3. passes SIGUSR1 and SIGTERM on to the training as a ``requeue`` control line (rank 0
   checkpoints at the next step and ends the attempt), waits for the step to end and, after
   the time-limit signal, requeues the job itself (``scontrol requeue``); after SIGTERM
   (preemption, ``scontrol requeue``, ``scancel``) Slurm decides.

The run folder lives on the file system the login node shares with the compute nodes (the
host's base_dir), so the login node follows ``events.jsonl`` while the job writes it.
"""

from __future__ import annotations

import shlex

from engine.remote.agent import CONTROL, EXIT, LOG
from engine.remote.config import HostConfig

#: how long before the time limit Slurm warns the job (it may come up to a minute early):
#: time for the step in progress to end and the checkpoint to be written
SIGNAL_BEFORE_S = 180
#: torchrun's rendezvous port on the first node is this plus the job id modulo 1000
RDZV_PORT_BASE = 29500
q = shlex.quote


def resources(cfg: HostConfig, *, nodes: int, procs: int, gpu: bool) -> list[str]:
    """The ``#SBATCH`` options of a job on ``nodes`` nodes with ``procs`` training processes
    on each (one GPU each when ``gpu``, else CPU processes)."""
    opts = [f"--nodes={nodes}"]
    if gpu:
        opts += ["--ntasks-per-node=1", f"--gres=gpu:{procs}"]
    else:  # a task per CPU process: Slurm places and counts each
        opts += [f"--ntasks-per-node={procs}", "--cpus-per-task=1"]
    if cfg.partition:
        opts.append(f"--partition={cfg.partition}")
    if cfg.account:
        opts.append(f"--account={cfg.account}")
    if cfg.time_limit:
        opts.append(f"--time={cfg.time_limit}")
    return opts


def batch_script(cfg: HostConfig, *, run_dir: str, engine_dir: str, job_name: str,
                 nodes: int, procs: int, gpu: bool) -> str:
    """The text of the batch script (see the module's doc)."""
    sbatch = [*resources(cfg, nodes=nodes, procs=procs, gpu=gpu), f"--job-name={job_name}",
              f"--output={run_dir}/{LOG}", "--open-mode=append", "--requeue",
              f"--signal=B:USR1@{SIGNAL_BEFORE_S}", f"--chdir={engine_dir}"]
    agent = '-m engine.remote.slurm_agent "$RUN"'
    tasks, per_task = (1, procs) if gpu else (procs, 1)  # per node
    if nodes == 1 and procs == 1:
        launch = f'"$PY" {agent}'
    else:  # every task is one torchrun "node" of the rendezvous
        launch = (f'"$PY" -m torch.distributed.run --nnodes={nodes * tasks} '
                  f'--nproc-per-node={per_task} --rdzv-backend=c10d --rdzv-id="$SLURM_JOB_ID" '
                  f'--rdzv-endpoint="$HEAD:$PORT" {agent}')
    cpus = "" if gpu else " --cpus-per-task=1"
    lines = [
        "#!/bin/bash",
        "# A LayerForge training job (written by layerforge; see docs/slurm.md).",
        *(f"#SBATCH {opt}" for opt in sbatch),
        f"RUN={q(run_dir)}",
        f"ENGINE={q(engine_dir)}",
        f"PY={q(cfg.python)}",
        'export PYTHONPATH="$ENGINE${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1',
        'cd "$ENGINE" || exit 3',
        '"$PY" -m engine.remote.slurm_agent prepare "$RUN" || exit $?',
        "# Slurm's warnings reach this shell: hand them to the training (rank 0 polls the file)",
        "signalled=",
        f"ask_requeue() {{ signalled=$1; echo '{{\"cmd\": \"requeue\"}}' >> \"$RUN/{CONTROL}\"; }}",
        "trap 'ask_requeue USR1' USR1",
        "trap 'ask_requeue TERM' TERM",
        'HEAD=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
        f"PORT=$(( {RDZV_PORT_BASE} + SLURM_JOB_ID % 1000 ))",
        f"srun --nodes={nodes} --ntasks-per-node={tasks}{cpus} --kill-on-bad-exit=1 "
        f"{launch} &",
        "step=$!",
        "# a trapped signal ends `wait` early: wait again until the step is over",
        'while :; do wait "$step"; code=$?; kill -0 "$step" 2>/dev/null || break; done',
        f'if [ "$signalled" = USR1 ] && grep -q \'"preempted": true\' "$RUN/{EXIT}" 2>/dev/null; then',
        '  echo "layerforge: requeueing the job before its time limit"',
        '  scontrol requeue "$SLURM_JOB_ID"',
        "fi",
        'exit "$code"',
    ]
    return "\n".join(lines) + "\n"
