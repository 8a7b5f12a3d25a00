"""A model folder: what a machine without LayerForge needs to answer predictions.

The folder holds the verified ONNX model(s) (``model.onnx``, or ``encoder.onnx`` and
``decoder.onnx`` for a sequence-to-sequence run), the tokenizer files when the run read
text, the export's model card and ``deploy.json``, which tells the standalone
:mod:`engine.deploy.runtime` how to prepare a request and read the answer (the task, the
inputs, the run's preprocessing, class names, generation settings). Everything in
``deploy.json`` comes from the ONNX model's own metadata (``layerforge.preprocessing``,
``layerforge.task``...), so a lone exported ``.onnx`` gives the same folder
(:func:`folder_from_onnx`, used by ``layerforge serve MODEL.onnx``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from engine.export.common import ExportError, ExportReport, Progress

DEPLOY_FILE = "deploy.json"
DEPLOY_VERSION = 1
CARD = "README.md"
#: the tasks a model folder serves; GAN and autoencoder runs have no request to answer
TASKS = ("classification", "regression", "segmentation", "detection", "language_model",
         "seq2seq", "speech")
#: data.json's ``target`` -> task, for an ONNX file whose metadata does not name its task
_TARGET_TASK = {"class": "classification", "real": "regression", "next_token": "language_model",
                "transcript": "speech", "mask": "segmentation", "boxes": "detection",
                "sequence": "seq2seq"}
#: decoding a seq2seq model, as the task and the export check decode: the special ids
PAD, UNK, BOS, EOS = 0, 1, 2, 3


def model_folder(source, folder: Path, *, graph: str | None = None, opset: int | None = None,
                 int8: bool = False, calibration: int | None = None,
                 progress: Progress = None, int8_report: ExportReport | None = None,
                 ) -> dict[str, Any]:
    """Write the model folder of the run ``source`` into the existing empty ``folder``
    and return its deploy dict (also written as ``deploy.json``).

    The model is the verified ONNX export (``engine.export.export(..., "onnx")``), or with
    ``int8`` the model ``engine.deploy.quantize.export_int8`` writes and checks. Refuses
    (ExportError) a project file (untrained), a GAN or autoencoder run, and a folder that
    is not empty.
    """
    from engine.export import DEFAULT_CALIBRATION, DEFAULT_OPSET, export
    from engine.export.common import load_source
    from engine.tempfiles import export_prefix

    folder = Path(folder)
    _check_empty(folder)
    kind, src = _served_kind(source, graph)
    opset = DEFAULT_OPSET if opset is None else opset
    calibration = DEFAULT_CALIBRATION if calibration is None else calibration
    # named as export staging folders are, so clean_stale_temps knows one a kill left behind
    with tempfile.TemporaryDirectory(prefix=export_prefix(), dir=folder) as tmp:
        work = Path(tmp) / "export"
        if kind == "seq2seq":
            if int8:
                raise ExportError("int8 covers single-model runs; a sequence-to-sequence run "
                                  "(encoder and decoder) is served in float32: leave out --int8")
            export(source, "onnx", work, opset=opset, progress=progress)
            models = {"encoder": "encoder.onnx", "decoder": "decoder.onnx"}
            for name in models.values():
                shutil.move(str(work / name), folder / name)
        else:
            src = src or load_source(source, graph)
            if int8:
                from engine.deploy.quantize import export_int8

                made_report = export_int8(source, work, graph=src.graph_name, opset=opset,
                                          calibration=calibration, progress=progress)
                if int8_report is not None:  # the flags, sensitivity and comparison tables
                    int8_report.details.update(made_report.details)
                    int8_report.warnings += made_report.warnings
                made = work / f"{src.graph_name}.int8.onnx"
            else:
                export(source, "onnx", work, graph=src.graph_name, opset=opset,
                       progress=progress)
                made = work / f"{src.graph_name}.onnx"
            if not made.is_file():  # the stem of an odd graph name was made an identifier
                made = next(work.glob("*.onnx"))
            shutil.move(str(made), folder / "model.onnx")
            models = {"model": "model.onnx"}
        if (work / CARD).is_file():
            shutil.move(str(work / CARD), folder / CARD)
        for name in ("tokenizer.json", "target_tokenizer.json"):
            if (work / name).is_file():
                shutil.move(str(work / name), folder / name)
    if kind != "seq2seq" and src is not None and src.data:
        _write_tokenizers(folder, src.data)  # an int8 export may not copy them
    deploy = describe(folder, models, task=kind, int8=int8,
                      graph=src.graph_name if src is not None else None)
    write_deploy(folder, deploy)
    return deploy


def folder_from_onnx(model: Path, folder: Path) -> dict[str, Any]:
    """The model folder of a lone exported ``model`` (``.onnx``) in the existing empty
    ``folder``: the model copied as ``model.onnx`` (a seq2seq model: ``encoder.onnx`` and
    ``decoder.onnx`` from beside it), the tokenizer files and model card beside it, and
    ``deploy.json`` from its metadata. ExportError when it was not exported by LayerForge."""
    model, folder = Path(model), Path(folder)
    if not model.is_file():
        raise ExportError(f"{model}: no such ONNX file")
    if model.suffix != ".onnx":
        raise ExportError(f"{model}: expected an exported ONNX model (.onnx)")
    _check_empty(folder)
    meta = onnx_metadata(model)
    task = infer_task(meta, model)
    beside = model.parent
    if task == "seq2seq":
        models = {"encoder": "encoder.onnx", "decoder": "decoder.onnx"}
        for name in models.values():
            if not (beside / name).is_file():
                raise ExportError(f"{model}: a sequence-to-sequence model needs encoder.onnx "
                                  f"and decoder.onnx side by side; {beside / name} is missing")
            shutil.copyfile(beside / name, folder / name)
    else:
        models = {"model": "model.onnx"}
        shutil.copyfile(model, folder / "model.onnx")
    for key in ("layerforge.tokenizer", "layerforge.target_tokenizer"):
        name = meta.get(key)
        if name:
            if Path(name).name != name or not (beside / name).is_file():
                raise ExportError(f"{model}: the model reads text with {name}, which must lie "
                                  f"beside it; export the run again to write it")
            shutil.copyfile(beside / name, folder / name)
    card = beside / (CARD if model.stem in ("encoder", "decoder")
                     else f"{model.stem}.README.md")
    if not card.is_file():
        card = beside / CARD
    if card.is_file():
        shutil.copyfile(card, folder / CARD)
    quant = meta.get("layerforge.quantization")
    deploy = describe(folder, models, task=task, int8=bool(quant))
    write_deploy(folder, deploy)
    return deploy


# -- deploy.json ----------------------------------------------------------------------------


def describe(folder: Path, models: dict[str, str], *, task: str, int8: bool,
             graph: str | None = None) -> dict[str, Any]:
    """The deploy dict of the models in ``folder``, from their ONNX metadata and inputs."""
    main = folder / models.get("model", models.get("encoder", ""))
    meta = onnx_metadata(main)
    prep = _json(meta.get("layerforge.preprocessing"), main, {}) or {}
    task_info = _json(meta.get("layerforge.task"), main, {}) or {}
    inputs = onnx_inputs(main)
    classes = prep.get("classes") or task_info.get("classes")
    deploy: dict[str, Any] = {
        "version": DEPLOY_VERSION, "task": task, "data": _data_kind(prep, inputs),
        "models": models, "inputs": inputs, "preprocessing": prep,
        "classes": classes or None,
        "tokenizer": meta.get("layerforge.tokenizer"),
        "target_tokenizer": meta.get("layerforge.target_tokenizer"),
        "int8": bool(int8), "graph": graph or _graph_name(main, models),
        "card": CARD if (folder / CARD).is_file() else None,
        "generation": None,
    }
    if task == "detection":
        deploy["decoder"] = task_info.get("decoder")
    if task == "language_model":
        vocab = prep.get("vocab") or []
        window = inputs[0]["shape"][0] if inputs and inputs[0]["shape"] else None
        deploy["generation"] = {"window": window or 64,
                                "pad_id": vocab.index(" ") if " " in vocab else 0,
                                "vocab": vocab or None, "max_length": 1000, "beam": 1}
    elif task == "seq2seq":
        dec = onnx_inputs(folder / models["decoder"])
        tokens = next((i for i in dec if i["name"] == "tokens"), None)
        if tokens is None or not tokens["shape"] or tokens["shape"][0] is None:
            raise ExportError(f"{folder / models['decoder']}: the decoder takes no fixed-length "
                              "input named tokens; export the run again")
        deploy["generation"] = {
            "seq_len": inputs[0]["shape"][0] if inputs[0]["shape"] else None,
            "max_length": tokens["shape"][0], "bos": task_info.get("bos", BOS),
            "eos": task_info.get("eos", EOS), "pad": task_info.get("pad", PAD),
            "decoder_inputs": [i["name"] for i in dec], "beam": 1}
    elif task == "speech":
        deploy["generation"] = {"blank": 0, "vocab": prep.get("target_vocab"), "beam": 1}
    if deploy["data"] == "audio":
        deploy["preprocessing"]["sample_rate"] = prep.get("sample_rate") or int(
            meta.get("layerforge.sample_rate") or 16000)
    return deploy


def write_deploy(folder: Path, deploy: dict[str, Any]) -> None:
    path = Path(folder) / DEPLOY_FILE
    path.write_text(json.dumps(deploy, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def onnx_metadata(path: Path) -> dict[str, str]:
    """The ONNX file's metadata_props; ExportError when it is not an ONNX model."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # onnx raises DecodeError and others for a foreign file
        raise ExportError(f"{path}: not an ONNX model ({type(e).__name__})") from None
    return {p.key: p.value for p in model.metadata_props}


def onnx_inputs(path: Path) -> list[dict[str, Any]]:
    """[{"name", "shape" (per-sample dims, None where variable), "dtype"}] of a model."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    names = {i.name for i in model.graph.initializer}
    out = []
    for value in model.graph.input:
        if value.name in names:
            continue
        t = value.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name
        out.append({"name": value.name, "shape": dims[1:], "dtype": dtype})
    return out


def infer_task(meta: dict[str, str], where: Path) -> str:
    """The task of an exported ONNX model, from ``layerforge.task`` or the preprocessing's
    target; ExportError when the file does not say (not exported by LayerForge)."""
    if "layerforge.preprocessing" not in meta:
        raise ExportError(f"{where}: this ONNX file does not say how its inputs are prepared "
                          "(no layerforge.preprocessing metadata); export it with LayerForge "
                          "from a trained run folder (layerforge export RUN --format onnx)")
    task = (_json(meta.get("layerforge.task"), where, {}) or {}).get("kind")
    if not task:
        target = (_json(meta["layerforge.preprocessing"], where, {}) or {}).get("target")
        task = _TARGET_TASK.get(str(target))
    if task not in TASKS:
        raise ExportError(f"{where}: LayerForge serves {', '.join(TASKS)} models; this one's "
                          f"task is {task or 'not recorded'}")
    return task


# -- helpers --------------------------------------------------------------------------------


def _served_kind(source, graph: str | None):
    """(task kind, Source or None for seq2seq); ExportError for what cannot be served."""
    from engine.export.common import RUN_PROJECT, load_source
    from engine.project import ProjectError, load_project

    p = Path(source)
    if not p.is_dir():
        if p.suffix == ".lforge" and p.is_file():
            raise ExportError(f"{p} is a project file: train it first and serve or export the "
                              "run folder (a model folder needs trained weights)")
        raise ExportError(f"{p}: no such run folder")
    try:
        kind = load_project(p / RUN_PROJECT).task.kind
    except (ProjectError, OSError) as e:
        raise ExportError(f"{p} is not a run folder: {e}") from None
    if kind in ("gan", "autoencoder"):
        raise ExportError(f"{p} is a {'GAN' if kind == 'gan' else 'autoencoder'} run: it "
                          "answers no request, so there is no model folder or server for it; "
                          "export its generator or encoder as ONNX instead")
    if kind not in TASKS:
        raise ExportError(f"{p}: LayerForge serves {', '.join(TASKS)} runs, not {kind}")
    if kind == "seq2seq":
        if not (p / "weights.safetensors").is_file():
            raise ExportError(f"{p} has no trained weights (weights.safetensors is missing)")
        return kind, None
    src = load_source(p, graph)
    if not src.data:
        raise ExportError(f"{p} does not record how its inputs were prepared (no data.json); "
                          "retrain the run to serve it")
    return kind, src


def _check_empty(folder: Path) -> None:
    if not folder.is_dir():
        raise ExportError(f"{folder}: not a folder; create it first")
    if any(folder.iterdir()):
        raise ExportError(f"{folder}: not empty; a model folder is written into an empty one")


def _write_tokenizers(folder: Path, info: dict[str, Any]) -> None:
    from engine.export.text import tokenizer_files

    for name, text in tokenizer_files(info).items():
        if not (folder / name).is_file():
            (folder / name).write_text(text, encoding="utf-8")


def _json(text: str | None, where: Path, default):
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        raise ExportError(f"{where}: its LayerForge metadata is damaged; export it again") from None


def _data_kind(prep: dict[str, Any], inputs: list[dict[str, Any]]) -> str:
    kind = prep.get("kind")
    if kind:
        return str(kind)
    return "vector" if inputs and len(inputs[0]["shape"]) == 1 else "unknown"


def _graph_name(main: Path, models: dict[str, str]) -> str:
    return "encoder, decoder" if "encoder" in models else main.stem
