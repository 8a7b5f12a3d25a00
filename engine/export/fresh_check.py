"""Run an exported text or audio model the way its user will: in a fresh ``python -I``
process that imports only onnxruntime, numpy and tokenizers, with the files written beside
the model. It decodes with the model folder's runtime (``engine/deploy/runtime.py``:
token ids, greedy seq2seq), copied beside this script, so the check tests the code that
serves the model. This file is executed as a script by :mod:`engine.export.text_check`, never
imported by LayerForge, so that nothing of LayerForge (torch included) can leak into the
check.

Usage: ``python -I fresh_check.py JOB.json``. The job names the mode and the files; the
results are written to the job's ``out`` (an .npz), and one line of JSON goes to stdout.

- ``classify``: tokenize ``texts`` with ``tokenizer`` (cut to ``seq_len`` ids, padded with 0),
  run ``model``; saves ``ids`` and ``logits``.
- ``logits``: run ``model`` on the float32 array in ``inputs`` (a .npy clip batch); saves
  ``logits``.
- ``seq2seq``: tokenize ``texts`` with ``tokenizer``, run ``encoder`` once, then ``decoder``
  greedily (the fixed-length prefix [BOS, ...] padded with 0, one token per step, never
  [PAD] or [BOS], until EOS or the prefix is full), decode with ``target_tokenizer``; saves ``ids`` (the generated
  ids, padded with -1) and prints the texts.
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

# runtime.py (engine/deploy/runtime.py, the model folder's standalone runtime) is copied
# beside this file: -I leaves the script's folder off sys.path, so put it there
sys.path.insert(0, str(Path(__file__).resolve().parent))
from runtime import greedy_seq2seq, token_ids  # noqa: E402


def session(path):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def classify(job):
    ids = token_ids(Tokenizer.from_file(job["tokenizer"]), job["texts"], job["seq_len"])
    model = session(job["model"])
    logits = model.run(None, {model.get_inputs()[0].name: ids})[0]
    np.savez(job["out"], ids=ids, logits=logits)
    return {"ok": True}


def logits(job):
    model = session(job["model"])
    x = np.load(job["inputs"]).astype(np.float32)
    np.savez(job["out"], logits=model.run(None, {model.get_inputs()[0].name: x})[0])
    return {"ok": True}


def seq2seq(job):
    source = Tokenizer.from_file(job["tokenizer"])
    target = Tokenizer.from_file(job["target_tokenizer"])
    src = token_ids(source, job["texts"], job["seq_len"])
    encoder, decoder = session(job["encoder"]), session(job["decoder"])
    source_name = encoder.get_inputs()[0].name
    out = greedy_seq2seq(lambda ids: encoder.run(None, {source_name: ids})[0],
                         lambda feeds: decoder.run(None, feeds)[0], src,
                         job["target_len"] - 1, job["bos"], job["eos"],
                         [i.name for i in decoder.get_inputs()])
    texts = [target.decode([int(v) for v in row if v >= 0], skip_special_tokens=False)
             for row in out]
    np.savez(job["out"], ids=out)
    return {"ok": True, "texts": texts}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    result = {"classify": classify, "logits": logits, "seq2seq": seq2seq}[job["mode"]](job)
    # whatever else was imported would defeat the point: say so
    result["modules"] = sorted(m for m in ("torch", "engine") if m in sys.modules)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
