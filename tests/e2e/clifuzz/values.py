"""Hostile values and malformed project files, drawn from a seeded ``random.Random``.

Builds on ``tests/engine/test_bad_input_fuzz.py`` (its VALID document, PATHS and
``mutate``), which fuzzes `validate` alone with hypothesis; here the same kinds of damage
reach every command, together with hostile names, huge numbers and NaN.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import random
from typing import Any

from engine.blocks import CATALOG
from engine.templates import load_template
from engine.train.overrides import apply_overrides
from tests.engine.cli_helpers import HOSTILE
from tests.engine.test_bad_input_fuzz import PATHS, VALID, mutate

# Names a user may give, and names a hostile file may hold.
NAMES = [*HOSTILE, "", " ", "model", "x" * 300, "../../etc/passwd", "con", "a/b", "é名",
         "\x00nul", "self", "forward", "__init__", "9lives", "Model", "generator"]
INTS = [0, 1, -1, 2, 7, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**23, -(10**23), 10**400]
FLOATS = [math.nan, math.inf, -math.inf, -0.0, 0.5, 1e-320, 1e308, -1e308, 0.999999, 1.0]
STRINGS = [*NAMES, "cuda", "cuda:99", "mps", "remote:nosuch", "remote:bad name", "auto", "cpu",
           "adam", "cosine", "true", "1", "1e3", "nan", "[1, 2]"]


def scalar(rng: random.Random) -> Any:
    kind = rng.randrange(5)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice(INTS)
    if kind == 2:
        return rng.choice(FLOATS)
    return rng.choice(STRINGS)


def value(rng: random.Random, depth: int = 0) -> Any:
    """A JSON-like value: mostly scalars, sometimes small lists and objects."""
    roll = rng.random()
    if depth >= 3 or roll < 0.7:
        return scalar(rng)
    if roll < 0.85:
        return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(NAMES[:6] + ["shape", "dtype", "type", "id"]): value(rng, depth + 1)
            for _ in range(rng.randrange(4))}


def nested(depth: int) -> Any:
    out: Any = 1
    for i in range(depth):
        out = [out] if i % 2 else {"k": out}
    return out


def base_project(template: str = "mlp") -> dict[str, Any]:
    """A template as a JSON document, shrunk so that training it takes milliseconds."""
    return copy.deepcopy(_base_project(template))


@functools.cache
def _base_project(template: str) -> dict[str, Any]:
    project = load_template(template)
    quick = {"training.epochs": 1, "training.threads": 1, "training.device": "cpu",
             "training.batch_size": 16}
    if project.dataset.source == "builtin" and project.dataset.name != "pytext":
        quick["dataset.samples"] = 64
    return json.loads(apply_overrides(project, quick).to_json())


# Settings the fuzz changes, with the values a user might mistype and a hostile file hold.
SETTING_KEYS = [
    "training.lr", "training.epochs", "training.batch_size", "training.seed", "training.device",
    "training.optimizer", "training.schedule", "training.momentum", "training.weight_decay",
    "training.warmup_epochs", "training.grad_clip", "training.monitor", "training.patience",
    "training.early_stopping", "training.amp", "training.step_size", "training.gamma",
    "training.checkpoint_every", "training.gpus", "dataset.source", "dataset.name",
    "dataset.path", "dataset.target", "dataset.val_fraction", "dataset.test_fraction",
    "dataset.split_seed", "dataset.normalize", "dataset.image_size", "dataset.augment_crop",
    "dataset.augment_rotate", "dataset.seq_len", "dataset.options", "task.kind", "task.loss",
    "task.latent_dim", "task.d_steps", "task.label_smoothing", "training.nosuch", "nosuch.x",
    "training", "training.lr.x", "", "dataset.samples", "training.privacy.epsilon",
    "training.privacy.delta", "training.privacy.max_grad_norm", "training.privacy.enabled",
]
# Values that keep a run small (the fuzz must not train for long); everything else in
# scalar() is expected to be refused before training starts.
SAFE_NUMBERS = {"training.epochs": [1, 2], "training.batch_size": [1, 8, 64],
                "dataset.samples": [10, 64], "training.patience": [1],
                "training.checkpoint_every": [1, 10**9], "training.step_size": [1, 10**12]}
SIZE_KEYS = {"training.epochs", "training.batch_size", "dataset.samples", "dataset.seq_len",
             "dataset.image_size", "task.latent_dim", "task.d_steps", "training.gpus",
             "training.patience"}


def setting_value(rng: random.Random, key: str) -> Any:
    """A value for ``key``: when it could make a run large, only a small one or one that
    must be refused."""
    v = value(rng)
    numeric = isinstance(v, int | float) and not isinstance(v, bool)
    if key in SIZE_KEYS and numeric and 0 < v <= 10**6:  # NaN compares false
        return rng.choice(SAFE_NUMBERS.get(key, [1, 2]))
    if key == "dataset.options" and rng.random() < 0.5:
        return {rng.choice(["delimiter", "header", "task", "x"]): value(rng)}
    return v


def set_argument(rng: random.Random) -> str:
    """One ``--set`` argument: sometimes not KEY=VALUE at all."""
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(["", "=", "x", "training.lr", "=1", "training.lr==1", HOSTILE[0]])
    key = rng.choice(SETTING_KEYS)
    v = setting_value(rng, key)
    raw = v if isinstance(v, str) and rng.random() < 0.5 else json.dumps(v)
    return f"{key}={raw}"


# --- projects -------------------------------------------------------------------------------
EXTRA_PATHS = [("name",), ("notes",), ("runs",), ("task",), ("training", "seed"),
               ("training", "epochs"), ("training", "batch_size"), ("training", "device"),
               ("dataset", "source"), ("dataset", "path"), ("dataset", "val_fraction"),
               ("dataset", "options"), ("task", "kind"), ("graphs", "model", "nodes", 2),
               ("graphs", "model", "edges", 1), ("graphs", "model", "nodes", 1, "position")]


MAX_SIZE = 1024  # a block size that still builds and runs a step in milliseconds


def shrunk(v: Any) -> Any:
    """``v`` with every whole number above MAX_SIZE lowered to just above it: a size the
    checks may refuse, never one that allocates gigabytes."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v > MAX_SIZE:
        return MAX_SIZE + 1
    if isinstance(v, list):
        return [shrunk(x) for x in v]
    if isinstance(v, dict):
        return {k: shrunk(x) for k, x in v.items()}
    return v


def _node_params(rng: random.Random, doc: dict[str, Any], *, big: bool) -> None:
    nodes = doc["graphs"]["model"]["nodes"]
    node = rng.choice(nodes)
    block = CATALOG.get(node["type"])
    names = [p.name for p in block.params] if block is not None else []
    key = rng.choice(names + ["nosuch"]) if names else "nosuch"
    v = value(rng)
    node.setdefault("params", {})[key] = v if big else shrunk(v)


def _graph_damage(rng: random.Random, doc: dict[str, Any]) -> None:
    g = doc["graphs"]["model"]
    ids = [n["id"] for n in g["nodes"]]
    kind = rng.randrange(8)
    if kind == 0:  # an edge to nowhere, a self loop, a cycle, a duplicate
        a = rng.choice(ids)
        g["edges"].append(rng.choice([{"src": a, "dst": "nowhere"}, {"src": a, "dst": a},
                                      {"src": ids[-2], "dst": ids[1]}, dict(g["edges"][0])]))
    elif kind == 1:  # hostile ids, kept consistent in the edges
        old, new = rng.choice(ids), rng.choice(NAMES)
        for n in g["nodes"]:
            n["id"] = new if n["id"] == old else n["id"]
        for e in g["edges"]:
            e["src"] = new if e["src"] == old else e["src"]
            e["dst"] = new if e["dst"] == old else e["dst"]
    elif kind == 2:  # an unknown or hostile block type
        rng.choice(g["nodes"])["type"] = rng.choice(["Teleporter", *NAMES[:6], "input", ""])
    elif kind == 3:  # a duplicate node
        g["nodes"].append(dict(rng.choice(g["nodes"])))
    elif kind == 4:  # hostile port names
        e = rng.choice(g["edges"])
        e[rng.choice(["src_port", "dst_port"])] = rng.choice(NAMES + ["in1", "out"])
    elif kind == 5:  # hostile graph names, or no graph at all
        graphs = doc["graphs"]
        model = graphs.pop("model")
        graphs[rng.choice(NAMES)] = model
        if rng.random() < 0.3:
            graphs.clear()
    elif kind == 6:  # a node removed, edges left dangling
        g["nodes"].pop(rng.randrange(len(g["nodes"])))
    else:  # a task that needs other graphs, or data that does not fit
        doc["task"]["kind"] = rng.choice(["gan", "language_model", "autoencoder", "regression"])


def project_text(rng: random.Random, *, big: bool = True) -> str:
    """The text of a malformed (sometimes valid) project file. With ``big`` False no block
    gets a size that would take long to build or train."""
    roll = rng.random()
    doc = base_project(rng.choice(["mlp", "mlp", "lenet5", "charlstm", "autoencoder", "dcgan"]))
    if roll < 0.04:  # truncated JSON, garbage after it
        text = json.dumps(doc)
        return text[:rng.randrange(len(text))] + rng.choice(["", "}", "\x00", "\ufeff", "]]"])
    if roll < 0.07:  # not a project at all
        return rng.choice(["", "null", "[]", "42", '"x"', "{}", "\ufeff{}", "NaN",
                           json.dumps(value(rng)), "1e999999", '{"schema_version": 1e400}'])
    if roll < 0.09:  # deep nesting, around the limit
        depth = rng.choice([60, 63, 64, 65, 200, 5000])
        return json.dumps({"schema_version": 1, "notes": nested(depth)}) if depth < 900 \
            else "[" * depth + "]" * depth
    if roll < 0.13:  # the small project of test_bad_input_fuzz, mutated as there
        v = value(rng)
        return json.dumps(mutate(VALID, rng.choice(PATHS), v if big else shrunk(v)))
    for _ in range(rng.randint(1, 3)):
        step = rng.random()
        try:
            if step < 0.3:
                path = rng.choice(EXTRA_PATHS + PATHS[:10])
                v = value(rng)
                doc = mutate(doc, path, v if big or path[0] != "graphs" else shrunk(v))
            elif step < 0.55:
                _node_params(rng, doc, big=big)
            elif step < 0.85:
                _graph_damage(rng, doc)
            elif step < 0.93:
                section = rng.choice(["training", "dataset", "task", "graphs", ""])
                target = doc.get(section, doc) if section else doc
                if isinstance(target, dict):
                    target[rng.choice(["nosuch", "graph", "x" * 40])] = value(rng)
            else:
                key = rng.choice(SETTING_KEYS[:-4]).split(".")
                if key[0] in doc and isinstance(doc[key[0]], dict):
                    doc[key[0]].pop(key[-1], None)
                    doc[key[0]][key[-1]] = setting_value(rng, ".".join(key))
        except (KeyError, IndexError, TypeError, AttributeError, ValueError):
            # an earlier step changed the shape of the document (a graph left without
            # nodes: randrange(0) raises ValueError): keep what we have
            pass
    return json.dumps(doc, ensure_ascii=rng.random() < 0.5)
