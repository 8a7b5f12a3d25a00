"""Trained runs to damage, sampling options, and output paths that cannot be written."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

from tests.e2e.clifuzz import values
from tests.engine.cli_helpers import HOSTILE, image_folder_run, text_run, train_in_process


def build_runs(root: Path) -> dict[str, Path]:
    """One small trained run per task kind (seconds in all, in this process)."""
    from engine.templates import load_template
    from engine.train.overrides import apply_overrides

    runs: dict[str, Path] = {}
    quick = {"training.epochs": 1, "training.threads": 1, "training.device": "cpu",
             "dataset.samples": 64, "training.batch_size": 32}
    for kind, template in (("mlp", "mlp"), ("ae", "autoencoder"), ("gan", "dcgan")):
        runs[kind] = root / kind
        train_in_process(apply_overrides(load_template(template), quick), runs[kind])
    corpus = "".join(f"def f{i}(x):\n    return x * {i} + 1  # {HOSTILE[i % 3]}\n"
                     for i in range(100))
    runs["lm"] = text_run(root / "lm-data", corpus)[0]
    runs["img"] = image_folder_run(root / "img-data", [HOSTILE[0], HOSTILE[4], "cat"])[0]
    return runs


def _write_weights_damage(rng: random.Random, path: Path, others: dict[str, Path]) -> None:
    kind = rng.randrange(5)
    if kind == 0 and path.is_file():
        data = path.read_bytes()
        path.write_bytes(data[:rng.randrange(len(data))])
    elif kind == 1:
        path.write_bytes(rng.choice([b"", b"\xff" * 8 + b"{}", b"\x02\x00\x00\x00\x00\x00\x00\x00{}",
                                     b"\x10\x00\x00\x00\x00\x00\x00\x00" + b'{"a":1}' + b" " * 9,
                                     rng.randbytes(300)]))
    elif kind == 2:  # a real weights file of another network
        shutil.copyfile(rng.choice(list(others.values())) / "weights.safetensors", path)
    elif kind == 3 and path.exists():
        path.unlink()
    else:  # a folder where the file should be
        if path.exists():
            path.unlink()
        path.mkdir()


def damage_run(rng: random.Random, run: Path, others: dict[str, Path]) -> None:
    """Damage a copied run folder one way (or leave it intact)."""
    kind = rng.randrange(12)
    project = run / "project.lforge"
    if kind == 1:
        _write_weights_damage(rng, run / "weights.safetensors", others)
    elif kind == 2:
        _write_weights_damage(rng, run / "checkpoints" / "last.safetensors", others)
        if rng.random() < 0.5:
            (run / "weights.safetensors").unlink()
    elif kind == 3:
        project.write_text(values.project_text(rng, big=False), encoding="utf-8")
    elif kind == 4:  # the graph changed after training: the weights no longer fit
        doc = json.loads(project.read_text(encoding="utf-8"))
        for graph in doc["graphs"].values():
            for node in graph["nodes"]:
                for key in ("out_features", "out_channels", "hidden_size", "embedding_dim"):
                    if key in node["params"]:
                        node["params"][key] += rng.choice([1, -1])
        project.write_text(json.dumps(doc))
    elif kind == 5:
        for name in ("data.json", "evaluation.json", "events.jsonl", "metrics.csv"):
            if rng.random() < 0.5:
                (run / name).write_text(rng.choice(["", "{", "[]", "null", json.dumps(
                    {"classes": HOSTILE, "mean": ["x"], "std": [0], "kind": HOSTILE[0],
                     "input_shape": [10**9], "vocab": [None, 1]}), json.dumps(values.value(rng))]))
    elif kind == 6:  # the run's data is gone or broken
        doc = json.loads(project.read_text(encoding="utf-8"))
        doc["dataset"]["path"] = rng.choice(["nosuch", str(run), HOSTILE[0], ""])
        doc["dataset"]["source"] = rng.choice(["csv", "text", "folder", "idx", "builtin"])
        project.write_text(json.dumps(doc))
    elif kind == 7:
        victim = rng.choice([project, run / "weights.safetensors", run / "checkpoints"])
        shutil.rmtree(victim) if victim.is_dir() else victim.unlink()
    elif kind == 8:  # a task kind that does not match the trained graphs
        doc = json.loads(project.read_text(encoding="utf-8"))
        doc["task"]["kind"] = rng.choice(["gan", "language_model", "autoencoder", "regression",
                                          "classification"])
        project.write_text(json.dumps(doc))
    elif kind == 9:  # hostile names and seeds in an otherwise intact run
        doc = json.loads(project.read_text(encoding="utf-8"))
        doc["name"] = rng.choice(HOSTILE)
        doc["training"]["seed"] = rng.choice([10**23, -1, 2**63 - 1, 2**63])
        project.write_text(json.dumps(doc))


def sample_args(rng: random.Random) -> tuple[list[str], list[str]]:
    """Options of `sample` (their values as a user could type them) and the paths it may
    write."""
    args: list[str] = []
    options = {
        "--temperature": ["nan", "inf", "-inf", "-1", "0", "1e-300", "1e300", "0.5", "1"],
        "--top-k": ["-1", "0", "3", "100000000000000000000"],
        "--seed": ["0", "-1", "100000000000000000000000", "18446744073709551615", "7"],
        "--length": ["-1", "0", "1", "20", "100001", "1000000000000"],
        "--prompt": ["", "def ", HOSTILE[0], HOSTILE[2], "é", "x" * 2000, "\t"],
    }
    for option, choices in options.items():
        if rng.random() < 0.4:
            args += [option, rng.choice(choices)]
    if "--length" not in args:
        args += ["--length", "20"]
    allowed: list[str] = []
    if rng.random() < 0.3:
        out = rng.choice(["s.txt", "s.png", HOSTILE[0] + ".txt", "run", "sub/s.png"])
        args += ["--out", out]
        allowed.append(out.split("/")[0])
    return args, allowed


def out_path(rng: random.Random, folder: Path, ctx: Any) -> tuple[str, bool]:
    """An output path (to which a command adds its suffix) and whether it can be written at
    all. Most cannot."""
    (folder / "afile").write_text("a regular file")
    kind = rng.randrange(8)
    if kind == 0:
        return rng.choice(["afile/out", "afile/sub/out"]), False
    if kind == 1 and ctx.read_only is not None:
        return str(ctx.read_only / rng.choice(["out", "sub/out"])), False
    if kind == 2 and ctx.full is not None:
        return str(ctx.full / rng.choice(["out", "sub/out"])), False
    if kind == 3:
        return "x" * rng.choice([256, 300, 5000]), False  # NAME_MAX is 255
    if kind == 4:  # a folder in the way of `new exists.lforge`: nothing may change in it
        (folder / "exists.lforge").mkdir()
        (folder / "exists.lforge" / "keep").write_text("keep")
        return "exists", True
    if kind == 5:
        return "sub/dir/out", True
    return rng.choice([HOSTILE[0], HOSTILE[1], "o", "-o", " o", "o.", "é"]), True
