"""The model card's "Text and sound" lines: how to turn text or a WAV file into the exported
model's input and its output back into classes, text or a transcript, with the field's
libraries only (tokenizers, soundfile, scipy, numpy, onnxruntime)."""

from __future__ import annotations

import json
from typing import Any

from engine.export.common import Source
from engine.export.text import (
    BOS,
    EOS,
    META_SAMPLE_RATE,
    META_TARGET_VOCAB,
    TARGET_TOKENIZER_FILE,
    TOKENIZER_FILE,
    target_tokenizer_file,
    tokenizer_files,
)

_ONNX_HEAD = ["import numpy as np", "import onnxruntime as ort"]
_TOKEN_IDS = [
    "def token_ids(tok, texts, length):",
    "    ids = np.zeros((len(texts), length), dtype=np.int64)  # 0 is [PAD]",
    "    for i, text in enumerate(texts):",
    "        row = tok.encode(text).ids[:length]",
    "        ids[i, :len(row)] = row",
    "    return ids",
]


def _length(info: dict[str, Any], default: int) -> int:
    shape = info.get("input_shape") or []
    return int(shape[-1]) if shape and isinstance(shape[-1], int) else default


def usage(src: Source, fmt: str, files: dict[str, str]) -> list[str]:
    """Markdown lines (with a Python example for ONNX) for a run with a tokenizer or clips."""
    info = src.data or {}
    kind = src.project.task.kind
    lines = []
    if tokenizer_files(info):
        lines.append(f"- Text in: `{TOKENIZER_FILE}` (Hugging Face `tokenizers`: "
                     "`Tokenizer.from_file`) turns a text into ids; cut them to "
                     f"{_length(info, 64)} and pad with 0 ([PAD]). Ids 0-3 are [PAD], [UNK], "
                     "[BOS], [EOS].")
    if kind == "seq2seq":
        lines.append(f"- Text out: `{target_tokenizer_file(info)}` decodes the generated ids "
                     f"(`decode(ids)`). Decoding starts from [BOS] "
                     f"({BOS}) and stops at [EOS] ({EOS}).")
    rate = info.get("sample_rate")
    if rate:
        length = _length(info, int(rate))
        lines.append(f"- Sound in: mono float32 samples at {rate} Hz (metadata "
                     f"`{META_SAMPLE_RATE}`), 16-bit audio divided by 32768, as [N, 1, {length}] "
                     f"({length / int(rate):g} s; "
                     + ("shorter clips padded with zeros at the end)." if kind == "speech" else
                        "shorter clips padded with zeros on both sides, longer ones cut to "
                        "their middle)."))
    if kind == "speech":
        lines.append("- Output: scores [N, frames, characters]; read it with CTC: the best "
                     "character per frame, repeats merged, index 0 (the blank) dropped. The "
                     f"characters in index order are in the metadata key `{META_TARGET_VOCAB}`.")
    if fmt != "onnx":
        return lines
    code = _onnx_code(kind, info, files)
    return lines + (["", "```python", *code, "```"] if code else [])


def _onnx_code(kind: str, info: dict[str, Any], files: dict[str, str]) -> list[str]:
    main = json.dumps(next(iter(files)))
    if kind == "seq2seq":
        return _seq2seq_code(info)
    if tokenizer_files(info) and info.get("target") == "class":
        return ["import json", "", *_ONNX_HEAD, "from tokenizers import Tokenizer", "",
                *_TOKEN_IDS, "",
                f'tok = Tokenizer.from_file("{TOKENIZER_FILE}")',
                f"session = ort.InferenceSession({main})",
                "meta = session.get_modelmeta().custom_metadata_map",
                'classes = json.loads(meta["layerforge.classes"])',
                f'ids = token_ids(tok, ["type a text here"], {_length(info, 64)})',
                "logits = session.run(None, {session.get_inputs()[0].name: ids})[0]",
                "print([classes[k] for k in logits.argmax(-1)])"]
    if info.get("sample_rate"):
        where = "end" if kind == "speech" else "centre"
        lines = ["import json", "from math import gcd", "", *_ONNX_HEAD, "import soundfile",
                 "from scipy.signal import resample_poly", "",
                 f"session = ort.InferenceSession({main})",
                 "meta = session.get_modelmeta().custom_metadata_map",
                 f'rate, length = int(meta["{META_SAMPLE_RATE}"]), {_length(info, 16000)}',
                 'clip, sr = soundfile.read("clip.wav", dtype="float32", always_2d=True)',
                 "clip = clip.mean(axis=1)  # mono",
                 "if sr != rate:",
                 "    g = gcd(sr, rate)",
                 "    clip = resample_poly(clip, rate // g, sr // g).astype(np.float32)",
                 f"clip = clip[:length]  # pad at the {where}:"]
        if kind == "speech":
            lines += ["x = np.zeros((1, 1, length), np.float32)",
                      "x[0, 0, :len(clip)] = clip",
                      "scores = session.run(None, {session.get_inputs()[0].name: x})[0][0]",
                      f'chars = json.loads(meta["{META_TARGET_VOCAB}"])',
                      "best = scores.argmax(-1)",
                      "keep = [k for j, k in enumerate(best) if k and (j == 0 or k != best[j-1])]",
                      'print("".join(chars[k] for k in keep))']
        else:
            lines = lines[:-1] + ["if len(clip) > length:  # the middle",
                                  "    start = (len(clip) - length) // 2",
                                  "    clip = clip[start:start + length]",
                                  "x = np.zeros((1, 1, length), np.float32)",
                                  "start = (length - len(clip)) // 2  # centred",
                                  "x[0, 0, start:start + len(clip)] = clip",
                                  "logits = session.run(None, {session.get_inputs()[0].name: x})[0]",
                                  'classes = json.loads(meta["layerforge.classes"])',
                                  "print(classes[int(logits[0].argmax())])"]
        return lines
    return []


def _seq2seq_code(info: dict[str, Any]) -> list[str]:
    target = target_tokenizer_file(info)
    second = (f'out_tok = Tokenizer.from_file("{TARGET_TOKENIZER_FILE}")'
              if target == TARGET_TOKENIZER_FILE else "out_tok = tok")
    return [*_ONNX_HEAD, "from tokenizers import Tokenizer", "", *_TOKEN_IDS, "",
            f'tok = Tokenizer.from_file("{TOKENIZER_FILE}")', second,
            'encoder = ort.InferenceSession("encoder.onnx")',
            'decoder = ort.InferenceSession("decoder.onnx")',
            f'source = token_ids(tok, ["type a text here"], {_length(info, 64)})',
            "memory = encoder.run(None, {encoder.get_inputs()[0].name: source})[0]",
            'steps = next(i for i in decoder.get_inputs() if i.name == "tokens").shape[1]',
            "tokens = np.zeros((1, steps), dtype=np.int64)",
            f"tokens[0, 0] = {BOS}  # [BOS]",
            'feeds = {"tokens": tokens, "memory": memory, "source": source}',
            "out = []",
            "for t in range(steps):",
            "    scores = decoder.run(None, {i.name: feeds[i.name] for i in decoder.get_inputs()})[0]",
            f"    scores[0, t, [0, {BOS}]] = -np.inf  # never [PAD] or [BOS]",
            "    best = int(scores[0, t].argmax())",
            f"    if best == {EOS}:  # [EOS]",
            "        break",
            "    out.append(best)",
            "    if t + 1 < steps:",
            "        tokens[0, t + 1] = best",
            "print(out_tok.decode(out))"]
