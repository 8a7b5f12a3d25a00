"""What a run takes as input for "Try it", read from its folder without torch.

The app picks its input widgets (an image drop with a drawing pad, a row of number fields,
a prompt...) from :func:`input_facts` before it loads the model, so this module reads only
the run's project snapshot and ``data.json`` (or the copy of it in the weights file's
metadata, for a run whose ``data.json`` was lost) and never imports torch.

:func:`predict_kind` names what :func:`engine.train.predict.predict` does with a run:

==============  ==========================================================
"image"         classification of images (files, pasted bytes, drawings)
"vector"        classification of a row of numbers (tabular, points, sequences)
"regression"    numbers out, from a row of numbers or an image
"text"          classification of typed text
"seq2seq"       text in, text out
"sound"         classification of WAV clips (keyword spotting)
"speech"        WAV clips to their transcript
"language"      a prompt continued by a language model
"segmentation"  an image's class mask and the share of each class
"detection"     an image's boxes with class names and scores
==============  ==========================================================

GAN and autoencoder runs take no input a user would give; they get "".
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from engine.project import ProjectError

KINDS = ("image", "vector", "regression", "text", "seq2seq", "sound", "speech", "language",
         "segmentation", "detection")
#: the data kinds whose samples are rows of numbers
NUMBER_DATA = ("vector", "sequence")
#: the built-in sets of 2-D points, whose two features are a point's coordinates
POINT_SETS = ("spirals", "moons", "blobs")


def predict_kind(task_kind: str, data_kind: str) -> str:
    """The kind of input and answer (see the module's table) for a task kind and the
    data's kind ("image", "vector", "sequence", "tokens", "audio"); "" for a run
    :func:`engine.train.predict.predict` does not cover."""
    if task_kind in ("seq2seq", "speech", "segmentation", "detection"):
        return task_kind
    if task_kind == "language_model":
        return "language"
    if task_kind == "regression":
        return "regression" if data_kind in ("image", *NUMBER_DATA) else ""
    if task_kind == "classification":
        return {"tokens": "text", "audio": "sound", "image": "image", "vector": "vector",
                "sequence": "vector"}.get(data_kind, "")
    return ""


def read_info(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's data description: ``data.json``, else the copy the trainer put in the
    weights file's metadata, else None (a run from before LayerForge recorded it). A
    damaged ``data.json`` is a ProjectError naming it."""
    run = Path(run_dir)
    path = run / "data.json"
    if path.is_file():
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise ProjectError(f"{path}: cannot read it ({e}); restore the run's data.json "
                               "or train the run again") from None
        if not isinstance(info, dict):
            raise ProjectError(f"{path}: is not a data description (expected a JSON object); "
                               "restore the run's data.json or train the run again")
        return info
    return _weights_copy(run / "weights.safetensors")


def _weights_copy(weights: Path) -> dict[str, Any] | None:
    if not weights.is_file():
        return None
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="numpy") as f:  # numpy: no torch import
            state = (f.metadata() or {}).get("state")
        data = json.loads(state).get("data") if state else None
    except (SafetensorError, OSError, ValueError, AttributeError):
        return None
    return data if isinstance(data, dict) else None


def input_facts(run_dir: str | Path) -> dict[str, Any]:
    """What the run takes and answers, for choosing input widgets without loading it:

    ``kind`` (:func:`predict_kind`; "" when not covered), ``task`` (the task kind),
    ``data`` (the data kind, "" when unknown), ``input_shape`` (per sample),
    ``channels``, ``image_size`` (the side; the longer one when not square) and
    ``image_hw`` ([height, width]) for image inputs, ``ink``
    ("light" when the images are light strokes on a dark ground, as the digits and
    MNIST are, "dark" for the reverse, None when unknown; a drawing pad paints the
    same way), ``features`` (the input's column names when known, one per number the
    model takes), ``values`` (how many numbers a row holds), ``targets`` (a regression's
    output names), ``classes``, ``sample_rate`` (sound), and ``problem``: a sentence
    when the run cannot be tried (no weights yet, a kind not covered), else None.
    Raises ProjectError when ``run_dir`` is not a run folder.
    """
    from engine.train.rundir import RunDir

    run = RunDir(run_dir)
    project = run.load_project()
    task = project.task.kind
    info = read_info(run.path) or _guessed_info(project)
    data = str(info.get("kind") or "")
    shape = [int(d) for d in info.get("input_shape") or [] if isinstance(d, int)]
    kind = predict_kind(task, data)
    facts: dict[str, Any] = {
        "kind": kind, "task": task, "data": data, "input_shape": shape or None,
        "channels": None, "image_size": None, "image_hw": None, "ink": None, "features": None, "values": None,
        "targets": None, "classes": info.get("classes") or None,
        "sample_rate": info.get("sample_rate"), "problem": None}
    if data == "image" and len(shape) == 3:
        facts["channels"], facts["image_hw"] = shape[0], shape[1:]
        facts["image_size"] = max(shape[1:])
        facts["ink"] = ink(info)
    if data in NUMBER_DATA and shape:
        facts["values"] = math.prod(shape)
        facts["features"] = feature_names(info)
    if task == "regression":
        facts["targets"] = info.get("target_names") or None
    facts["problem"] = _problem(run, task, data, kind)
    return facts


def a_task(task: str) -> str:
    """"a classification run", "an autoencoder run": the task kind in words."""
    words = task.replace("_", " ")
    return f"{'an' if words[:1] in 'aeiou' else 'a'} {words} run"


#: the data kind each file source gives, for a run that did not record it
SOURCE_KINDS = {"folder": "image", "idx": "image", "download": "image", "segmentation": "image",
                "detection": "image", "csv": "vector", "texts": "tokens", "pairs": "tokens",
                "text": "tokens", "audio": "audio", "speech": "audio"}


def _guessed_info(project: Any) -> dict[str, Any]:
    """For a run from before data.json: what its dataset spec says without reading the
    data (the built-in and downloadable sets' facts, else the source's data kind and the
    model's input shape). Trying such a run loads its data set to prepare the inputs."""
    from engine.data.facts import quick_facts

    quick = quick_facts(project.dataset)
    if quick is not None:
        return {"kind": quick.kind, "input_shape": list(quick.input_shape),
                "classes": list(quick.classes) if quick.classes else None,
                "sample_rate": quick.sample_rate}
    graph = next(iter(project.graphs.values()), None)
    inputs = [n for n in graph.nodes if n.type == "Input"] if graph is not None else []
    shape = inputs[0].params.get("shape") if len(inputs) == 1 else None
    return {"kind": SOURCE_KINDS.get(project.dataset.source, ""),
            "input_shape": shape if isinstance(shape, list) else None}


def _problem(run: Any, task: str, data: str, kind: str) -> str | None:
    if not kind:
        return (f"{a_task(task)} on {data or 'this'} data takes no input to try; see its "
                "samples")
    if not (run.weights.is_file() or run.checkpoint("last").is_file()):
        return f"{run.path}: no trained weights yet; train the run first"
    return None


def ink(info: dict[str, Any]) -> str | None:
    """"light" when the run's images are light on a dark ground (mean pixel below one
    half, as for digits, MNIST and the shapes), "dark" when the reverse, None when the
    data were not normalised with their own statistics."""
    mean = info.get("mean")
    if info.get("normalization") != "train" or not mean:
        return None
    return "light" if sum(float(m) for m in mean) / len(mean) < 0.5 else "dark"


def feature_names(info: dict[str, Any]) -> list[str] | None:
    """The names of the numbers a sample holds (data.json's ``features``), None when not
    recorded or when they do not match the input's size."""
    names = info.get("features")
    shape = info.get("input_shape") or []
    if not isinstance(names, list) or not shape or len(names) != math.prod(shape):
        return None
    return [str(n) for n in names]


def recorded_names(spec: Any, bundle: Any) -> dict[str, list[str]]:
    """``features`` and ``target_names`` for data.json, when the data names them: a CSV
    file's header (its feature columns, and the target column of a regression), or the
    built-in 2-D point sets ("x", "y"). Read when a run starts, while the data are there;
    {} when nothing is known. Never raises: the names are a convenience."""
    if spec is None or bundle.kind not in NUMBER_DATA:
        return {}
    width = math.prod(bundle.input_shape) if bundle.input_shape else 0
    if spec.source == "builtin" and spec.name in POINT_SETS and width == 2:
        return {"features": ["x", "y"]}
    if spec.source != "csv":
        return {}
    try:
        names = _csv_header(spec)
    except Exception:  # noqa: BLE001 - a header that cannot be re-read only loses the names
        return {}
    if names is None:
        return {}
    features, target = names
    found: dict[str, list[str]] = {}
    if len(features) == width:
        found["features"] = features
    if bundle.target == "real":
        found["target_names"] = [target]
    return found


def _csv_header(spec: Any) -> tuple[list[str], str] | None:
    """(feature column names, target column name) from the CSV file's header row, read as
    engine.data.tabular reads it; None when the file has no header."""
    from engine.data import tabular

    path = Path(spec.path).expanduser()
    with path.open("rb") as f:
        head = f.read(1 << 16)
    text = head.decode("utf-8-sig", errors="replace")
    first = tabular._first_line(text)
    rows = tabular._rows(first + "\n", tabular._delimiter(first, spec, path), path)
    row = next(rows, None)
    if row is None:
        return None
    cells = row[1]
    header = spec.options.get("header")
    if header is None:
        header = any(tabular._number(cell) is None for cell in cells)
    if not header:
        return None
    names = [cell or f"column {i + 1}" for i, cell in enumerate(cells)]
    target = tabular._target_index(names, spec, path)
    return [names[i] for i in tabular.feature_columns(names, target, spec, path)], names[target]
