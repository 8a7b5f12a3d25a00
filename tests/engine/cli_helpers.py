"""Running the real `layerforge` CLI in-process, and small trained runs to point it at."""

from __future__ import annotations

import io
import re
import traceback
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from engine.cli import main

# What a terminal must never receive raw from a name: C0 controls other than newline and
# tab (ESC, CR, BEL...), DEL, C1 controls, bidi overrides and isolates.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Names a hostile project, data folder or host may hold: clear the screen, forge a line,
# reverse the text, inject HTML into the model card.
HOSTILE = ["a\x1b[2Jb", "c\rforged", "d\nforged: ok", "e\u202egnp.exe", "<script>alert(1)<\\script>",
           "f\x07\x9b31m"]


@dataclass
class CliResult:
    code: int | str | None
    out: str
    err: str
    escaped: str | None = None  # the traceback of an exception that escaped main()

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(*argv: str) -> CliResult:
    """``layerforge ARGV...`` in this process: its exit code and what it printed. argparse's
    SystemExit is its exit code; any other exception escaping main() is recorded."""
    out, err = io.StringIO(), io.StringIO()
    escaped = None
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code: int | str | None = main(list(argv))
        except SystemExit as e:
            code = e.code
        except BaseException:  # noqa: BLE001 - anything escaping main() is the defect
            code, escaped = None, traceback.format_exc()
    return CliResult(code, out.getvalue(), err.getvalue(), escaped)


def train_in_process(project, run_dir: Path) -> None:
    """Train ``project`` into ``run_dir`` as the worker does (events.jsonl, weights...)."""
    from engine.train.loop import train
    from engine.train.rundir import RunDir, record

    run = RunDir(run_dir)
    events = list(record(train(project, run.path), run))
    assert events[-1].type == "finished", events[-1]


def image_folder_run(root: Path, class_names: list[str]):
    """A lenet5 run trained one epoch on an image folder whose class folders are named
    ``class_names``. Returns (run folder, project)."""
    from engine.data import load_dataset
    from engine.templates import load_template
    from engine.train.fit import fit_project
    from engine.train.overrides import apply_overrides
    from tests.engine.data.helpers import write_png_folder

    data = write_png_folder(root / "images", {n: 6 for n in class_names}, size=(28, 28), mode="L")
    project = apply_overrides(load_template("lenet5"), {
        "dataset.source": "folder", "dataset.path": str(data), "dataset.grayscale": True,
        "dataset.image_size": 28, "dataset.val_fraction": 0.5, "training.epochs": 1,
        "training.threads": 1, "training.device": "cpu", "training.batch_size": 8})
    fit_project(project, load_dataset(project.dataset))
    run = root / "run"
    train_in_process(project, run)
    return run, project


def text_run(root: Path, corpus: str):
    """A charlstm run trained one epoch on ``corpus`` (fitted to its vocabulary)."""
    from engine.data import load_dataset
    from engine.templates import load_template
    from engine.train.fit import fit_project
    from engine.train.overrides import apply_overrides

    root.mkdir(parents=True, exist_ok=True)
    path = root / "corpus.txt"
    path.write_text(corpus, encoding="utf-8")
    project = apply_overrides(load_template("charlstm"), {
        "dataset.source": "text", "dataset.path": str(path), "dataset.seq_len": 16,
        "dataset.val_fraction": 0.1, "training.epochs": 1, "training.threads": 1,
        "training.device": "cpu"})
    for node in project.graphs["model"].nodes:
        if node.type == "Input":
            node.params = {**node.params, "shape": [16]}
    fit_project(project, load_dataset(project.dataset))
    run = root / "run"
    train_in_process(project, run)
    return run, project
