"""The starting weights of a remote run: pretrained composites and ``training.init_from``
are read here (the Hub cache and the user's files are on this machine, not on the host),
written as one safetensors file, uploaded once per content, and the host's copy of the
project points at it.

The file uses a run's key layout (``model/<graph>/<key>``), so the host initialises from
it exactly as from a local run folder: pretrained tensors first, ``init_from``'s on top,
matched by key and shape, with the report recorded in the run folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from engine.project import Project
from engine.remote.ssh import BytesProgress, HostInfo, RemoteHost


def needs_init(project: Project) -> bool:
    """Whether a fresh run of ``project`` starts from weights in files."""
    from engine.composite import descendants
    from engine.memory import trained_graphs

    used = {g for name in trained_graphs(project) for g in descendants(project.graphs, name)}
    return bool(project.training.init_from) or any(
        project.graphs[g].weights is not None for g in used if g in project.graphs)


def local_init_tensors(project: Project) -> dict:
    """``model/<graph>/<key>`` -> tensor: what a fresh run would load, read locally."""
    from engine.memory import trained_graphs
    from engine.train.init import init_file, per_graph, read_tensors
    from engine.zoo.weights import pretrained_state

    names = list(trained_graphs(project))
    out: dict = {}
    for name in names:
        for key, value in pretrained_state(project, name).items():
            out[f"model/{name}/{key}"] = value
    if project.training.init_from:
        tensors = per_graph(read_tensors(init_file(project.training.init_from)), names)
        for name, state in tensors.items():
            for key, value in state.items():
                out[f"model/{name}/{key}"] = value
    return out


def push_init(host: RemoteHost, info: HostInfo, project: Project,
              progress: BytesProgress | None = None) -> str | None:
    """Upload the run's starting weights (skipped when the same content is there) and
    point the host's ``project`` at them: the remote path, or None when none are needed."""
    if not needs_init(project):
        return None
    from safetensors.torch import save_file

    from engine.remote.bundle import file_sha256

    tensors = {k: v.contiguous() for k, v in local_init_tensors(project).items()}
    with tempfile.TemporaryDirectory(prefix="lf-init-") as tmp:
        local = Path(tmp) / "init.safetensors"
        save_file(tensors, str(local))
        digest = file_sha256(local)
        remote = f"{info.base_dir}/weights/{digest}.safetensors"
        if not host.exists(remote):
            host.makedirs(f"{info.base_dir}/weights")
            partial = f"{remote}.partial"
            host.put(local, partial, progress)
            code, _, err = host.run(f"mv {_q(partial)} {_q(remote)}")
            if code != 0:
                from engine.remote.config import RemoteError

                raise RemoteError(f"{host.cfg.name}: storing the starting weights failed: "
                                  f"{err.strip()[-400:]}")
    for graph in project.graphs.values():
        graph.weights = None  # already in the file
    project.training.init_from = remote
    return remote


def _q(text: str) -> str:
    import shlex

    return shlex.quote(text)
