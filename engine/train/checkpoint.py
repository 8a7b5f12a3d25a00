"""Checkpoints: one safetensors file whose tensors are every tensor of the training state
and whose metadata holds the rest as JSON. No pickle anywhere.

Tensor keys: ``model/<graph>/<name>``, ``optim/<name>/<param index>/<key>``,
``rng/<name>``. The JSON (metadata key ``state``) holds optimizer param groups and scalar
state, scheduler, scaler, early stopping, RNG scalars, epoch, step, data position and the
warnings already given (a resumed run does not repeat them).
Writes are atomic (temp file + rename), so a kill never leaves a torn checkpoint.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save as st_save

from engine.errors import UserError, os_reason
from engine.project import atomic_write_bytes


def flatten_optimizer(name: str, sd: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict:
    """Move the tensors of an optimizer state dict into ``tensors``; return the JSON rest."""
    scalars: dict[str, dict[str, Any]] = {}
    for idx, st in sd["state"].items():
        plain = {}
        for key, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"optim/{name}/{idx}/{key}"] = v.detach().cpu().contiguous()
            else:
                plain[key] = v
        scalars[str(idx)] = plain
    return {"param_groups": sd["param_groups"], "scalars": scalars}


def unflatten_optimizer(name: str, meta: dict, tensors: dict[str, torch.Tensor]) -> dict:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in meta["scalars"].items()}
    prefix = f"optim/{name}/"
    for key, t in tensors.items():
        if key.startswith(prefix):
            idx, k = key[len(prefix):].split("/", 1)
            state.setdefault(int(idx), {})[k] = t
    return {"state": state, "param_groups": meta["param_groups"]}


def capture_rng(data_gen: torch.Generator, tensors: dict[str, torch.Tensor]) -> dict:
    """Every RNG the run uses: torch CPU and CUDA, numpy, Python, the data order."""
    tensors["rng/torch"] = torch.get_rng_state()
    tensors["rng/data"] = data_gen.get_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda{i}"] = s
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    tensors["rng/numpy"] = torch.from_numpy(np.asarray(keys, dtype=np.uint32).astype(np.int64))
    py = random.getstate()
    return {"numpy": [kind, int(pos), int(has_gauss), float(gauss)],
            "python": [py[0], list(py[1]), py[2]]}


def restore_rng(meta: dict, tensors: dict[str, torch.Tensor], data_gen: torch.Generator) -> None:
    torch.set_rng_state(tensors["rng/torch"])
    data_gen.set_state(tensors["rng/data"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng/cuda")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    kind, pos, has_gauss, gauss = meta["numpy"]
    keys = tensors["rng/numpy"].numpy().astype(np.uint32)
    np.random.set_state((kind, keys, pos, has_gauss, gauss))
    v, state, g = meta["python"]
    random.setstate((v, tuple(state), g))


def write(path: Path, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
    """Atomically write ``tensors`` with ``state`` (JSON) as one safetensors file."""
    clean = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    data = st_save(clean, metadata={"state": json.dumps(state, allow_nan=True)})
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)


class CheckpointError(UserError):
    """A checkpoint cannot be read or does not fit the network; the message names the file."""


def read(path: Path, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and the JSON state of a checkpoint written by :func:`write`; CheckpointError
    for a damaged file or one that is not a LayerForge checkpoint."""
    tensors: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            for k in f.keys():  # noqa: SIM118 - safe_open is not iterable
                tensors[k] = f.get_tensor(k)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read the checkpoint ({os_reason(e)})") from None
    except Exception as e:  # safetensors' own errors: a truncated or foreign file
        raise CheckpointError(f"{path}: the checkpoint is damaged ({_first_line(e)}); resume "
                              "from another run or train again") from None
    if "state" not in meta:
        raise CheckpointError(f"{path}: not a LayerForge checkpoint (no training state)")
    try:
        state = json.loads(meta["state"])
    except ValueError as e:
        raise CheckpointError(f"{path}: the checkpoint's training state is damaged ({e})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: the checkpoint's training state is damaged")
    return tensors, state


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:200] if lines else type(e).__name__


def model_tensors(modules: dict[str, torch.nn.Module], tensors: dict[str, torch.Tensor]) -> None:
    for gname, m in modules.items():
        for k, v in m.state_dict().items():
            tensors[f"model/{gname}/{k}"] = v


def load_models(modules: dict[str, torch.nn.Module], tensors: dict[str, torch.Tensor]) -> None:
    """Load ``model/<graph>/...`` tensors (from a checkpoint or a weights file) strictly;
    CheckpointError when they do not fit the network (it changed since they were saved)."""
    for gname, m in modules.items():
        prefix = f"model/{gname}/"
        sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            m.load_state_dict(sd, strict=True)
        except RuntimeError as e:
            raise CheckpointError(
                f"the saved weights do not fit graph {gname!r}: the network changed since "
                f"they were saved ({_first_line(e)})") from None


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    tensors: dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt", device="cpu") as f:
        for k in f.keys():  # noqa: SIM118 - safe_open is not iterable
            tensors[k] = f.get_tensor(k)
    return tensors
