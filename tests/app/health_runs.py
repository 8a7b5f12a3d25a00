"""Run folders with block statistics for the health tests, written as training records them
(events.jsonl lines in the contract's ``block_stats`` format, the project snapshot beside
them), and a doctor whose findings are fixed (one of each kind of fix).

``recorded_run`` writes what ``BlockStats`` events look like in a run folder; the tests
read it through the app exactly as a real run's folder is read. The module-scoped tests that
need a real trained run use tests/app/trained_runs.py instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.project import Project, save_project


def block_values(step: int, *, dead: float | None = None, ratio: float | None = 1e-3,
                 grad: float = 0.05, params: bool = True) -> dict[str, float | None]:
    """One block's statistics (every key of the contract)."""
    return {"act_mean": 0.1 + 1e-4 * step, "act_std": 0.9, "dead": dead, "grad_out": grad,
            "grad_params": grad * 2 if params else None,
            "update_ratio": ratio if params else None, "param_norm": 3.0 if params else None}


def chain_stats(step: int, graph: str = "model", sick: bool = False) -> dict[str, Any]:
    """Statistics of tests/app/conftest.chain_project's blocks at ``step``; ``sick`` gives
    the ReLU 95% dead units and fc2 a far too large update ratio."""
    return {f"{graph}/fc1": block_values(step),
            f"{graph}/act": block_values(step, dead=0.95 if sick else 0.1, params=False),
            f"{graph}/fc2": block_values(step, ratio=0.3 if sick else 2e-3)}


def recorded_run(folder: Path, project: Project, steps: list[int], sick: bool = False,
                 stats: bool = True) -> Path:
    """A finished run folder of ``project`` whose events.jsonl holds a BlockStats event at
    each of ``steps`` (none when not ``stats``)."""
    folder.mkdir(parents=True, exist_ok=True)
    save_project(project, folder / "project.lforge")
    lines: list[dict[str, Any]] = [{"type": "run_started", "seq": 1, "run_dir": str(folder),
                                    "config": {"stats_every": 50 if stats else 0}}]
    for step in steps:
        if stats:
            lines.append({"type": "block_stats", "epoch": 1, "step": step,
                          "blocks": chain_stats(step, sick=sick)})
        lines.append({"type": "progress", "epoch": 1, "step": step, "losses": [0.5],
                      "lr": 0.01})
    lines.append({"type": "finished", "epochs": 1})
    with open(folder / "events.jsonl", "w", encoding="utf-8") as f:
        for seq, d in enumerate(lines, 1):
            f.write(json.dumps({**d, "seq": seq}) + "\n")
    return folder


# -- the doctor's answer, fixed ---------------------------------------------------------
def fixed_findings() -> list[Any]:
    """Findings of each kind of fix, for the chain project (the real doctor's findings
    depend on its thresholds, which its own tests check)."""
    from engine.train.doctor import Finding, Fix

    return [
        Finding("dead_units", "model/act", "error",
                "95% of the units after act are dead: add normalisation before it.", 50,
                Fix("Add BatchNorm1d after fc1", "insert_after", "model/fc1", "BatchNorm1d")),
        Finding("lr_high", "model/fc2", "warning", "fc2 updates too fast for its weights.", 50,
                Fix("Lower the learning rate to 0.003", "set", "training.lr", 0.003)),
        Finding("exploding", "model/fc1", "warning", "fc1's gradients grow.", 50,
                Fix("Give fc1 16 units", "set_param", "model/fc1.out_features", 16)),
        Finding("overfitting", "", "info", "Training and validation diverge.", 0),
    ]


def fix_doctor(monkeypatch) -> None:
    """The doctor answers :func:`fixed_findings` for any run."""
    import engine.train.doctor as doctor

    monkeypatch.setattr(doctor, "diagnose_run", lambda run_dir: fixed_findings())
