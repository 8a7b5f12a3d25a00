"""How the exported model's inputs must be prepared, carried into every export.

A training run records it in ``data.json`` (see :func:`engine.train.rundir.data_info`): the
per-channel (images) or per-feature mean and std computed on the train split when
``dataset.normalize`` is on, the class names in output order and, for text, the character
vocabulary. Older runs keep a copy only in ``weights.safetensors`` (metadata ``state`` ->
``data``), or nothing. The export writes it into the safetensors and ONNX metadata, the pt2
archive, ``model.py`` (``MEAN``, ``STD``, ``CLASSES``, ``preprocess``) and the model card.
The exported graph itself is unchanged: it takes the normalised input, as in training.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from engine.export.common import ExportError
from engine.files import read_text

META_PREPROCESSING = "layerforge.preprocessing"
META_MEAN = "layerforge.mean"
META_STD = "layerforge.std"
META_CLASSES = "layerforge.classes"
META_VOCAB = "layerforge.vocab"
DATA_FILE = "data.json"  # engine.train.rundir.DATA_INFO (kept here: no torch import needed)
MAX_ITEMS = 100_000


def _numbers(value: Any, where: str, field: str) -> list[float] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or not value or len(value) > MAX_ITEMS
            or not all(isinstance(v, int | float) and not isinstance(v, bool)
                       and math.isfinite(v) for v in value)):
        raise ExportError(f"{where}: field {field!r} must be a list of finite numbers or null; "
                          "retrain the run to write it again")
    return [float(v) for v in value]


def _strings(value: Any, where: str, field: str) -> list[str] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) > MAX_ITEMS
            or not all(isinstance(v, str) for v in value)):
        raise ExportError(f"{where}: field {field!r} must be a list of strings or null; "
                          "retrain the run to write it again")
    return list(value) or None


def check_info(info: Any, where: str) -> dict[str, Any]:
    """``info`` (data.json's content) validated; ExportError naming ``where`` and the field."""
    if not isinstance(info, dict):
        raise ExportError(f"{where}: expected a JSON object describing the data; retrain the "
                          "run to write it again")
    out = dict(info)
    out["mean"] = _numbers(info.get("mean"), where, "mean")
    out["std"] = _numbers(info.get("std"), where, "std")
    if (out["mean"] is None) != (out["std"] is None) or (
            out["mean"] is not None and len(out["mean"]) != len(out["std"])):
        raise ExportError(f"{where}: fields 'mean' and 'std' must both be lists of the same "
                          "length, or both null; retrain the run to write them again")
    if out["std"] is not None and any(s == 0 for s in out["std"]):
        raise ExportError(f"{where}: field 'std' holds a zero; retrain the run to write it again")
    out["classes"] = _strings(info.get("classes"), where, "classes")
    out["vocab"] = _strings(info.get("vocab"), where, "vocab")
    out["target_vocab"] = _strings(info.get("target_vocab"), where, "target_vocab")
    from engine.export.text import TOKENIZER_FIELDS, check_tokenizer

    for key in TOKENIZER_FIELDS:
        if info.get(key) is not None:
            out[key] = check_tokenizer(info[key], where, key)
    rate = info.get("sample_rate")
    if rate is not None and (not isinstance(rate, int) or isinstance(rate, bool)
                             or not 1 <= rate <= 1_000_000):
        raise ExportError(f"{where}: field 'sample_rate' must be a whole number of Hz; "
                          "retrain the run to write it again")
    if out.get("normalize_axis") not in ("channel", "feature"):
        out["normalize_axis"] = "channel" if out.get("kind") == "image" else "feature"
    return out


def read_run_info(run: Path, weights_meta: dict[str, str] | None) -> dict[str, Any] | None:
    """The run's data description: ``data.json``, else the copy in the weights file's
    metadata, else None (a run from before LayerForge recorded it)."""
    path = run / DATA_FILE
    if path.is_file():
        hint = "delete it to export without the input normalisation, or retrain the run"
        text = read_text(path, ExportError, what="a JSON file", hint=hint)
        try:
            info = json.loads(text)
        except ValueError as e:
            raise ExportError(f"{path}: cannot read it ({e}); {hint}") from None
        return check_info(info, str(path))
    state = (weights_meta or {}).get("state")
    if state:
        try:
            data = json.loads(state).get("data")
        except (ValueError, AttributeError):
            data = None
        if data is not None:
            return check_info(data, f"{run / 'weights.safetensors'} (metadata state.data)")
    return None


def metadata(info: dict[str, Any] | None) -> dict[str, str]:
    """String metadata for safetensors / ONNX: the whole description plus handy keys."""
    if info is None:
        return {}
    from engine.export.text import slim_info, text_metadata

    # the tokenizers themselves are files beside the model, named by layerforge.tokenizer
    meta = {META_PREPROCESSING: json.dumps(slim_info(info), ensure_ascii=False),
            **text_metadata(info),
            META_MEAN: json.dumps(info["mean"]), META_STD: json.dumps(info["std"])}
    if info.get("classes"):
        meta[META_CLASSES] = json.dumps(info["classes"], ensure_ascii=False)
    if info.get("vocab"):
        meta[META_VOCAB] = json.dumps(info["vocab"], ensure_ascii=False)
    return meta


def _shape_hint(info: dict[str, Any]) -> str:
    shape = info.get("input_shape") or []
    return "x".join(str(d) for d in shape)


def pixel_scaling(info: dict[str, Any] | None) -> str:
    """How training scaled an image run's pixels to [0, 1], in words, from its data source:
    the built-in sets' own scale (``engine.data.builtin.PIXEL_SCALE``, the table the data
    code divides by), else 8-bit pixels divided by 255 (image files, IDX, downloads)."""
    source = str((info or {}).get("source") or "")
    origin, _, name = source.partition(":")
    if origin == "builtin":
        from engine.data.builtin import PIXEL_SCALE  # the data code's own table

        scale = PIXEL_SCALE.get(name)
        if scale is None:
            return "generated with values in [0, 1]"
        return f"pixel values 0-{scale:g} divided by {scale:g}"
    return "8-bit pixels divided by 255"


def describe(info: dict[str, Any]) -> list[str]:
    """Markdown bullet lines saying how to prepare an input (no code)."""
    lines = []
    kind = info.get("kind")
    shape = info.get("input_shape") or []
    if kind == "image" and len(shape) == 3:
        c, h, w = shape
        colour = "greyscale" if c == 1 else ("RGB" if c == 3 else f"{c} channels")
        lines.append(f"- Images: {colour}, {h}x{w} pixels, as a float tensor [N, {c}, {h}, {w}] "
                     f"with values in [0, 1] ({pixel_scaling(info)}).")
    elif kind == "tokens" and info.get("tokenizer"):
        lines.append(f"- Token ids (int64) [N, {_shape_hint(info) or 'T'}]: the text tokenized "
                     "with `tokenizer.json` (see Text and sound below; "
                     f"{len(info.get('vocab') or [])} tokens).")
    elif kind == "audio":
        lines.append(f"- Sound: mono float32 samples [N, {', '.join(map(str, shape))}] at "
                     f"{info.get('sample_rate')} Hz (see Text and sound below).")
    elif kind == "tokens":
        lines.append(f"- Token ids (int64) [N, {_shape_hint(info) or 'T'}]: each character's "
                     f"index in the vocabulary ({len(info.get('vocab') or [])} characters; the "
                     f"list is in the metadata key `{META_VOCAB}`).")
    elif shape:
        lines.append(f"- Input: float values, per sample shape [{', '.join(map(str, shape))}].")
    if info.get("mean") is not None:
        per = "channel" if info["normalize_axis"] == "channel" else "feature"
        whose = ("fixed by the pretrained backbone (dataset.mean and dataset.std)"
                 if info.get("normalization") == "fixed" else "of the training data")
        lines.append(f"- Normalised as in training: subtract the mean and divide by the standard "
                     f"deviation {whose}, per {per}:")
        lines.append(f"  mean = {info['mean']!r}, std = {info['std']!r}")
    elif kind not in ("tokens", "audio"):
        lines.append("- Not normalised (`dataset.normalize` was off): feed the values as they are.")
    classes = info.get("classes")
    if classes:
        shown = ", ".join(f"{i} {_plain(c)}" for i, c in enumerate(classes[:50]))
        more = f", ... ({len(classes)} in all)" if len(classes) > 50 else ""
        lines.append(f"- Output index -> class: {shown}{more} (all of them in the metadata key "
                     f"`{META_CLASSES}`).")
    return lines


def _plain(s: str) -> str:
    from engine.export.card import md_text  # the card's one escaper for untrusted names

    return md_text(s, 60)


def numpy_code(info: dict[str, Any]) -> list[str]:
    """Lines of numpy code that normalise a float32 batch ``x`` as training did."""
    if info.get("mean") is None:
        return []
    shape = "(1, -1, 1, 1)" if info["normalize_axis"] == "channel" else "(-1,)"
    return [f"MEAN = np.array({info['mean']!r}, dtype=np.float32).reshape{shape}",
            f"STD = np.array({info['std']!r}, dtype=np.float32).reshape{shape}",
            "x = (x - MEAN) / STD  # x: the float32 input batch, prepared as above"]


def python_constants(info: dict[str, Any] | None, literal) -> list[str]:
    """Module-level constants and ``preprocess`` for the generated model.py. ``literal``
    writes a Python literal (the code generator's, which refuses anything else)."""
    if info is None:
        note = ["# Not recorded: this export did not come from a run folder that records how",
                "# inputs were prepared (data.json). None means unknown here."]
    else:
        note = ["# How training prepared the inputs (recorded in the run's data.json)."]
    mean = None if info is None else info["mean"]
    std = None if info is None else info["std"]
    axis = "channel" if info is None else info["normalize_axis"]
    classes = None if info is None else info.get("classes")
    vocab = None if info is None else info.get("vocab")
    per = ("channel (dim 1 of [N, C, H, W], or dim 0 of one [C, H, W] image)"
           if axis == "channel" else "feature (the last dimension)")
    view = "(-1, 1, 1)" if axis == "channel" else "(-1,)"
    read_as = ("images: " + pixel_scaling(info) + ", in [0, 1]"
               if info is None or info.get("kind") == "image"
               else "the values as the data source gives them")
    return [
        *note,
        f"MEAN = {literal(mean)}  # per {axis}; None: inputs are not normalised",
        f"STD = {literal(std)}",
        f"CLASSES = {literal(classes)}  # class index -> name (output index, mask value, box label)",
        f"VOCAB = {literal(vocab)}  # token id -> character (text models)",
        "",
        "",
        "def preprocess(x):",
        '    """Normalise a float input as training did: ``(x - MEAN) / STD`` per',
        f"    {per}.",
        "",
        f"    Give it the input as training read it ({read_as}).",
        '    Returns ``x`` unchanged when MEAN is None."""',
        "    if MEAN is None:",
        "        return x",
        f"    mean = torch.tensor(MEAN, dtype=x.dtype, device=x.device).view{view}",
        f"    std = torch.tensor(STD, dtype=x.dtype, device=x.device).view{view}",
        "    return (x - mean) / std",
    ]
