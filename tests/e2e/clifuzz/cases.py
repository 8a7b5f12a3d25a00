"""One fuzz case: hostile input files written into a case folder, the `layerforge` command
line that reads them, and the paths that command may write.

``make_case(seed, index, ctx, folder)`` is deterministic in ``(seed, index)``: a failing
case is rerun alone with LAYERFORGE_FUZZ_SEED and LAYERFORGE_FUZZ_CASE.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.clifuzz import datafiles, values
from tests.e2e.clifuzz.runs import damage_run, out_path, sample_args
from tests.engine.cli_helpers import HOSTILE


@dataclass
class Context:
    """What every case may use: trained runs to copy, tmpfs mounts when available."""

    runs: dict[str, Path]  # "mlp", "lm", "ae", "gan", "img" -> a trained run folder
    read_only: Path | None = None  # a read-only tmpfs
    full: Path | None = None  # a tmpfs with no room


@dataclass
class Case:
    kind: str
    argv: list[str]
    allowed: list[str] = field(default_factory=list)  # relative paths it may write under
    config: bool = False  # whether it may write the config folder

    def describe(self) -> str:
        return f"[{self.kind}] layerforge {' '.join(json.dumps(a) for a in self.argv)}"


def _project(rng: random.Random, folder: Path, *, big: bool) -> str:
    name = rng.choice(["p.lforge", "p.lforge", "p.json", "x\x1b[2J.lforge"])
    (folder / name).write_text(values.project_text(rng, big=big), encoding="utf-8")
    return name


def project_case(rng: random.Random, folder: Path, ctx: Context) -> Case:
    """A malformed project through validate, summary, train or export."""
    roll = rng.random()
    if roll < 0.55:
        name = _project(rng, folder, big=True)
        command = rng.choice([["validate"], ["summary"], ["summary", "--json"]])
        return Case("project", [*command, name])
    name = _project(rng, folder, big=False)
    if 0.80 <= roll < 0.85:  # the learning-rate finder writes nothing
        return Case("project-lr-find", ["lr-find", name, "--steps", "5"])
    if roll < 0.85:
        return Case("project-train", ["train", name, "--out", "run", "--quiet", "--epochs", "1"],
                    ["run"])
    fmt = rng.choice(["safetensors"] * 6 + ["onnx", "pt2"])
    graph = rng.choice([[], [], ["--graph", "model"], ["--graph", rng.choice(values.NAMES)]])
    return Case("project-export", ["export", name, "--format", fmt, "--out", "exp", *graph],
                ["exp"])


def settings_case(rng: random.Random, folder: Path, ctx: Context) -> Case:
    """Nonsense ``--set`` values (and --epochs/--device) on a valid project."""
    name = "p.lforge"
    doc = values.base_project(rng.choice(["mlp", "mlp", "mlp", "autoencoder", "lenet5"]))
    (folder / name).write_text(json.dumps(doc), encoding="utf-8")
    argv = ["train", name, "--out", "run", "--quiet"]
    for _ in range(rng.randint(1, 3)):
        argv += ["--set", values.set_argument(rng)]
    if rng.random() < 0.2:
        argv += rng.choice([["--epochs", "0"], ["--epochs", "-1"], ["--device", "cuda:7"],
                            ["--device", HOSTILE[0]], ["--epochs", "1"], ["--remote", "nosuch"],
                            ["--gpus", "0"]])
    else:
        argv += ["--epochs", "1"]
    return Case("set", argv, ["run"])


def data_case(rng: random.Random, folder: Path, ctx: Context) -> Case:
    """Broken data files through `new --dataset` and `train`."""
    spec, section = datafiles.dataset(rng, folder)
    template = rng.choice(["mlp", "lenet5", "charlstm", "autoencoder", "resnetmini"])
    if rng.random() < 0.5:
        return Case("data-new", ["new", "out.lforge", "--template", template, "--dataset", spec],
                    ["out.lforge"])
    doc = values.base_project(template)
    doc["dataset"] = {**{k: v for k, v in doc["dataset"].items() if k in ("val_fraction",)},
                      **section}
    if rng.random() < 0.3:
        doc["task"]["kind"] = rng.choice(["regression", "classification", "autoencoder"])
    (folder / "p.lforge").write_text(json.dumps(doc), encoding="utf-8")
    return Case("data-train", ["train", "p.lforge", "--out", "run", "--quiet", "--epochs", "1"],
                ["run"])


def run_case(rng: random.Random, folder: Path, ctx: Context) -> Case:
    """A damaged (or intact) run folder through evaluate, sample, export and --resume."""
    kind = rng.choice(["mlp", "mlp", "lm", "lm", "ae", "gan", "img"])
    run = folder / "run"
    shutil.copytree(ctx.runs[kind], run, symlinks=True)
    damage_run(rng, run, ctx.runs)
    command = rng.choice(["evaluate", "evaluate", "sample", "sample", "export", "resume",
                          "doctor", "explain"])
    if command == "doctor":
        return Case("run-doctor", ["doctor", "run", *rng.choice([[], ["--json"]])])
    if command == "explain":
        method = rng.choice([[], ["--method", "gradcam"], ["--method", "activations"],
                             ["--method", "gradcam", "--block", rng.choice(values.NAMES)]])
        index = rng.choice(["0", "3", "-1", "99999", "x"])
        return Case("run-explain", ["explain", "run", "--sample", index, *method,
                                    "--out", "x.png"], ["x.png"])
    if command == "evaluate":
        extra = rng.choice([[], ["--json"], ["--split", "test"], ["--split", "val", "--json"],
                            ["--group", rng.choice(["nosuch", "x", HOSTILE[0], ""])],
                            ["--group", "g", "--min-group", rng.choice(["0", "-1", "x", "5"])]])
        return Case("run-evaluate", ["evaluate", "run", *extra], ["run/fairness.json"])
    if command == "sample":
        args, allowed = sample_args(rng)
        return Case("run-sample", ["sample", "run", *args], [*allowed, "run/samples"])
    if command == "export":
        fmt = rng.choice(["safetensors"] * 8 + ["onnx", "pt2", "python"])
        opset = rng.choice([[], [], ["--opset", rng.choice(["7", "18", "-1", "99", "1e3"])]])
        return Case("run-export", ["export", "run", "--format", fmt, "--out", "exp", *opset],
                    ["exp"])
    extra = rng.choice([[], ["--epochs", "3"], ["--set", values.set_argument(rng)]])
    return Case("run-resume", ["train", "--resume", "run", "--quiet", *extra], ["run"])


def _writes(out: str, writable: bool, *extra: str) -> list[str]:
    """What a command given ``out`` may write: ``out`` (its missing parent folders are
    allowed by the harness) and files named after it, if it can be written at all."""
    return [out, *extra] if writable else []


def output_case(rng: random.Random, folder: Path, ctx: Context) -> Case:
    """Outputs that cannot be written: under a file, read-only, a full disk, bad names."""
    out, writable = out_path(rng, folder, ctx)
    command = rng.choice(["new", "new", "sample", "export", "train"])
    if command == "new":
        force = ["--force"] if rng.random() < 0.5 else []
        target = out + rng.choice([".lforge", ".lforge", ""])
        return Case("out-new", ["new", target, "--template", "mlp", *force],
                    _writes(target, writable))
    if command == "train":
        (folder / "p.lforge").write_text(json.dumps(values.base_project("mlp")))
        # a run folder is made before its files: on a full disk it stays, saying why
        return Case("out-train", ["train", "p.lforge", "--out", out, "--quiet", "--epochs", "1"],
                    [out])
    kind = rng.choice(["lm", "ae", "mlp"])
    shutil.copytree(ctx.runs[kind], folder / "run", symlinks=True)
    if command == "sample":
        return Case("out-sample", ["sample", "run", "--length", "5", "--out", out],
                    _writes(out, writable))
    fmt = rng.choice(["safetensors", "safetensors", "onnx", "python", "pt2"])
    suffix = rng.choice(["", "", ".onnx", ".safetensors", ".pt2"])
    card = f"{out}.README.md" if suffix else f"{out}/README.md"
    return Case("out-export", ["export", "run", "--format", fmt, "--out", out + suffix],
                _writes(out + suffix, writable, card))


IMPORTS = {
    "ok.py": "import torch\nclass Net(torch.nn.Module):\n    def __init__(self):\n"
             "        super().__init__()\n        self.fc = torch.nn.Linear(4, 3)\n"
             "    def forward(self, x):\n        return self.fc(x).relu()\n",
    "syntax.py": "def broken(:\n",
    "raises.py": "raise RuntimeError('import-time failure\\x1b[2J')\n",
    "args.py": "import torch\nclass Net(torch.nn.Module):\n    def __init__(self, n):\n"
               "        super().__init__()\n",
    "notmod.py": "def Net():\n    return 42\n",
    "branchy.py": "import torch\nclass Net(torch.nn.Module):\n    def forward(self, x):\n"
                  "        if x.sum() > 0:\n            return x\n        return -x\n",
    "fancy.py": "import torch\nclass Net(torch.nn.Module):\n    def forward(self, x):\n"
                "        return torch.fft.fft(x).real\n",
}


def import_case(rng: random.Random, folder: Path, ctx: Context) -> Case:
    """`layerforge import` of broken modules, with nonsense shapes and outputs."""
    for name, code in IMPORTS.items():
        (folder / name).write_text(code)
    target = rng.choice([f"{n}:Net" for n in IMPORTS] + ["ok.py:Nope", "nosuch.py:Net",
                        "nosuchmod_lf:Net", "ok.py", ":Net", "ok.py:", HOSTILE[0] + ":x"])
    shapes = rng.choice([["4"], ["4"], ["0"], ["-1"], ["-2"], ["a,b"], [""], ["2", "2"],
                         ["1,4"], ["4,,"], ["99999999999999999999"]])
    argv = ["import", target, "--out", "imp.lforge"]
    for s in shapes:
        argv += ["--input-shape", s]
    argv += rng.choice([[], [], ["--dtype", "long"], ["--dtype", "long", "--vocab", "0"],
                        ["--vocab", "-5"], ["--weights"], ["--force", "--weights"]])
    out, writable = ("imp", True) if rng.random() < 0.7 else out_path(rng, folder, ctx)
    argv[argv.index("imp.lforge")] = out + ".lforge"
    return Case("import", argv, _writes(out + ".lforge", writable, out + ".safetensors"))


def config_case(rng: random.Random, folder: Path, ctx: Context) -> Case:
    """Hosts and runs index files of every shape through the remote and runs commands.
    Hosts are unknown or 127.0.0.1 on a closed port: nothing leaves this machine."""
    config = folder / "config"
    config.mkdir()
    entry = {"id": rng.choice(HOSTILE + ["r1"]), "host": rng.choice(["local", "h1", "nosuch"]),
             "local_dir": rng.choice(["run", HOSTILE[0], ""]), "project": HOSTILE[4]}
    host = {"name": "h1", "host": "127.0.0.1", "port": 1, "python": HOSTILE[0]}
    if rng.random() < 0.3:  # a Slurm cluster's entry, its fields sometimes nonsense
        host |= {"kind": "slurm", "partition": rng.choice(["cpu", HOSTILE[0]]),
                 "time_limit": rng.choice(["4:00:00", "4h", HOSTILE[1]]),
                 "nodes": rng.choice([1, 0, -3]), "price_per_hour": rng.choice([2.5, -1, None])}
    for file, key, item in (("runs.json", "runs", entry), ("hosts.json", "hosts", host)):
        roll = rng.random()
        if roll < 0.5:
            doc = {"version": 1, key: [item]}
        elif roll < 0.8:
            doc = {"version": 1, key: [values.value(rng), {**item, **{rng.choice(list(item)):
                                                                     values.value(rng)}}]}
        else:
            doc = values.value(rng)
        text = json.dumps(doc)
        (config / file).write_text(text[:rng.randrange(1, len(text) + 1)] if rng.random() < 0.1
                                   else text)
    argv = rng.choice([
        ["runs", "list"], ["remote", "list"], ["remote", "remove", rng.choice(["h1", "nosuch"])],
        ["remote", "test", rng.choice(["h1", "nosuch", HOSTILE[0]])],
        ["runs", rng.choice(["attach", "stop", "download"]), rng.choice(["r1", "nosuch", "run"])],
        ["remote", "add", rng.choice(["h2", "local", HOSTILE[0], "h1", "", "-x"]), "--host",
         rng.choice(["127.0.0.1", HOSTILE[1], ""]), *rng.choice([[], ["--port", "0"],
                                                                 ["--port", "70000"],
                                                                 ["--key", "nosuch"],
                                                                 ["--key", "config"]])],
        ["train", "p.lforge", "--remote", rng.choice(["nosuch", "h1"]), "--quiet"],
        ["train", "p.lforge", "--remote", "h1", "--nodes", rng.choice(["2", "0", "x"]),
         "--quiet"],
        ["remote", "price", rng.choice(["local", "h1", "nosuch", HOSTILE[0]]),
         *rng.choice([[], ["0.5"], ["-1"], ["nan"], ["x"], ["2", "--currency", HOSTILE[1]],
                      ["--clear"]])],
        ["remote", "add", "h2", "--host", "127.0.0.1", "--kind", rng.choice(["slurm", "x"]),
         *rng.choice([["--time-limit", rng.choice(["4h", "1-00:00:00", HOSTILE[0]])],
                      ["--nodes", rng.choice(["0", "2", "x"])], ["--partition", HOSTILE[1]],
                      ["--price-per-hour", rng.choice(["-2", "inf", "1.5"])]])],
    ])
    if "p.lforge" in argv:
        (folder / "p.lforge").write_text(json.dumps(values.base_project("mlp")))
    return Case("config", argv, ["run", "config"], config=True)


def argv_case(rng: random.Random, folder: Path, ctx: Context) -> Case:
    """Command lines argparse must refuse (or explain) on its own."""
    commands = ["new", "validate", "summary", "train", "evaluate", "sample", "export", "import",
                "remote", "runs", "doctor", "explain", "lr-find"]
    argv = rng.choice([
        [rng.choice(commands), "--help"], [rng.choice(commands)], ["nosuch"], ["--nosuch"],
        ["train", "x.lforge", "--epochs", rng.choice(["abc", "1.5", "", "1e3"])],
        ["sample", "run", "--temperature", rng.choice(["abc", "", "0x10"])],
        ["export", "run", "--format", "tflite", "--out", "x"], ["remote"], ["runs", "nosuch"],
        ["new", "x.lforge", "--template", rng.choice(["nosuch", HOSTILE[0], ""])],
        [HOSTILE[0]], ["validate", "a", "b"],
    ])
    return Case("argv", argv)


KINDS: list[tuple[float, Callable[[random.Random, Path, Context], Case]]] = [
    (0.37, project_case), (0.12, settings_case), (0.14, data_case), (0.18, run_case),
    (0.07, output_case), (0.04, import_case), (0.05, config_case), (0.03, argv_case),
]


def make_case(seed: int, index: int, ctx: Context, folder: Path) -> Case:
    """Case ``index`` of the corpus of ``seed``, its input files written into ``folder``."""
    rng = random.Random(f"{seed}:{index}")
    roll, total = rng.random(), 0.0
    for weight, maker in KINDS:
        total += weight
        if roll < total:
            return maker(rng, folder, ctx)
    return KINDS[0][1](rng, folder, ctx)
