"""docs/user-guide.md stays true: its pictures and links exist, every `layerforge ...` line
parses with the real CLI parser, and the "load without LayerForge" snippets run.

The snippets are the ```python blocks preceded by ``<!-- test: load-NAME -->``. They run in a
fresh Python process, in a folder holding what the matching export wrote, with ``engine``
and ``app`` made unimportable, so they prove a model loads with torch / onnxruntime /
safetensors alone. The model is the guide's own: LeNet-5 fitted to 1x32x32 grey images and
3 classes, exported from a run folder made without training (seeded weights, and the
data.json a run writes, with the guide's normalisation and classes), so the snippets read
the mean, std and class names from the export as a user would.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GUIDE = DOCS / "user-guide.md"

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.M | re.S)
SNIPPET = re.compile(r"<!--\s*test:\s*([\w-]+)\s*-->\s*\n```python[^\n]*\n(.*?)^```", re.M | re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
BLOCK_IMPORTS = "import sys\nfor _m in ('engine', 'app'):\n    sys.modules[_m] = None\n"


def guide_text() -> str:
    return GUIDE.read_text(encoding="utf-8")


def _strip_inline_code(text: str) -> str:
    """The text without fenced blocks and inline code (links there are examples)."""
    text = FENCE.sub("", text)
    return re.sub(r"`[^`\n]*`", "", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def test_images_and_relative_links_exist():
    text = guide_text()
    anchors = {_slug(h) for h in re.findall(r"^#+\s+(.*)$", FENCE.sub("", text), re.M)}
    targets = LINK.findall(_strip_inline_code(text))
    assert targets, "the guide has no links or images"
    missing = []
    for target in targets:
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        if not path:
            if anchor not in anchors:
                missing.append(f"#{anchor} (no such heading)")
            continue
        if not (DOCS / path).exists():
            missing.append(path)
    assert not missing, f"docs/user-guide.md links to missing targets: {missing}"
    images = [t for t in re.findall(r"!\[[^\]]*\]\(([^)\s]+)", text)]
    assert any(i.startswith("screenshots/guide-") for i in images)


def _command_lines(text: str) -> list[str]:
    """Every `layerforge ...` line of the guide's shell blocks, continuations joined and
    the prompt (`$ `) removed."""
    lines: list[str] = []
    for lang, body in FENCE.findall(text):
        if lang not in ("", "sh", "console", "bash", "shell"):
            continue
        joined = re.sub(r"\\\n\s*", " ", body)
        for line in joined.splitlines():
            line = line.strip()
            if line.startswith("$ "):
                line = line[2:].strip()
            if re.match(r"(\S+/)?layerforge(\s|$)", line):
                lines.append(line)
    return lines


def test_every_command_line_parses():
    from app.cli import register_gui
    from engine.cli import build_parser

    lines = _command_lines(guide_text())
    assert len(lines) >= 15, lines
    parser = build_parser([register_gui])
    bad = []
    for line in lines:
        argv = shlex.split(line, comments=True)[1:]
        if not argv:  # `layerforge` alone opens the app
            continue
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            bad.append(line)
            continue
        if getattr(args, "func", None) is None:
            bad.append(line)
    assert not bad, "these guide command lines do not parse:\n" + "\n".join(bad)


def _snippets() -> dict[str, str]:
    return {name: body for name, body in SNIPPET.findall(guide_text())}


def test_snippets_are_marked():
    assert set(_snippets()) >= {"load-onnx", "load-safetensors", "load-python"}


GUIDE_MEAN, GUIDE_STD = [0.109527587890625], [0.3123000086158923]
GUIDE_CLASSES = ["circle", "square", "triangle"]


def _guide_run(root: Path) -> Path:
    """A run folder as training writes it, without training: the project snapshot, the
    seeded weights and data.json (written by the trainer's own function)."""
    import torch
    from safetensors.torch import save_file

    from engine.compile import compile_graph
    from engine.data.core import DataBundle, Split
    from engine.project import save_project
    from engine.templates import load_template
    from engine.train.rundir import RunDir, data_info

    project = load_template("lenet5")
    for node in project.graphs["model"].nodes:
        if node.type == "Input":
            node.params["shape"] = [1, 32, 32]
        if node.id == "fc3":
            node.params["out_features"] = 3
    project.dataset.grayscale, project.dataset.image_size = True, 32
    run = RunDir(root / "runs" / "shapes15")
    run.create()
    save_project(project, run.snapshot)
    module = compile_graph(project.graphs["model"], "model", project.training.seed)
    save_file({f"model/model/{k}": v.contiguous() for k, v in module.state_dict().items()},
              str(run.weights))
    split = Split(torch.zeros(3, 1, 32, 32), torch.arange(3))
    bundle = DataBundle(train=split, val=split, test=None, kind="image",
                        input_shape=(1, 32, 32), input_dtype="float", target="class",
                        classes=GUIDE_CLASSES, mean=GUIDE_MEAN, std=GUIDE_STD,
                        source="folder:shapes")
    run.write_data_info(data_info(bundle, project.dataset))
    run.write_evaluation({"val": {"loss": 0.1, "accuracy": 0.97}})
    return run.path


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """The guide's CNN exported from a run folder as ONNX, safetensors and Python code."""
    from PIL import Image, ImageDraw

    from engine.export import export

    root = tmp_path_factory.mktemp("guide")
    run = _guide_run(root)
    picture = Image.new("L", (32, 32), 0)
    ImageDraw.Draw(picture).polygon([(6, 26), (26, 26), (16, 6)], fill=255)
    for fmt in ("onnx", "safetensors", "python"):
        folder = root / fmt
        report = export(run, fmt, folder)
        assert not report.warnings, report.warnings
        picture.save(folder / "triangle.png")
    # The safetensors snippet borrows the module class from the Python export.
    shutil.copy(root / "python" / "model.py", root / "safetensors" / "model.py")
    return root


@pytest.mark.parametrize(("name", "folder"), [("load-onnx", "onnx"),
                                         ("load-safetensors", "safetensors"),
                                         ("load-python", "python")])
def test_load_snippet_runs_without_layerforge(exported, name, folder):
    code = _snippets()[name]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    r = subprocess.run([sys.executable, "-c", BLOCK_IMPORTS + code], cwd=exported / folder,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{name} failed:\n{r.stdout}\n{r.stderr}"
    assert r.stdout.strip(), f"{name} printed nothing"


def test_guide_card_excerpt_matches_a_real_model_card(exported):
    """The model card lines the guide quotes are the ones the export writes."""
    card = (exported / "onnx" / "README.md").read_text(encoding="utf-8")
    section = guide_text().split("### Prepare the inputs as training did", 1)[1]
    section = section.split("\n### ", 1)[0]
    quoted = [line for line in section.splitlines() if line.startswith(("- Images", "- Normal",
                                                                         "  mean =", "- Output"))]
    assert len(quoted) >= 4, quoted
    for line in quoted:
        assert line in card, f"the guide quotes {line!r} but the model card has no such line"
