"""Run an exported text or audio model the way its user will: in a fresh ``python -I``
process that imports only onnxruntime, numpy and tokenizers, with the files written beside
the model. This file is executed as a script by :mod:`engine.export.text_check`, never
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

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


def session(path):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def token_ids(tokenizer, texts, length):
    """[N, length] int64: each text's ids, cut to ``length`` and padded with 0 ([PAD])."""
    out = np.zeros((len(texts), length), dtype=np.int64)
    for i, text in enumerate(texts):
        ids = tokenizer.encode(text).ids[:length]
        out[i, :len(ids)] = ids
    return out


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
    memory = encoder.run(None, {encoder.get_inputs()[0].name: src})[0]
    n, steps = len(src), job["target_len"] - 1
    tokens = np.zeros((n, steps), dtype=np.int64)
    tokens[:, 0] = job["bos"]
    feeds = {"tokens": tokens, "memory": memory, "source": src}
    names = [i.name for i in decoder.get_inputs()]
    out = np.full((n, steps), -1, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    for t in range(steps):
        scores = decoder.run(None, {k: feeds[k] for k in names})[0][:, t]
        scores[:, [0, job["bos"]]] = -np.inf  # [PAD] and [BOS] are never generated
        best = scores.argmax(-1)
        for i in range(n):
            if not done[i]:
                if best[i] == job["eos"]:
                    done[i] = True
                else:
                    out[i, t] = best[i]
        if done.all():
            break
        if t + 1 < steps:
            tokens[:, t + 1] = np.where(done, 0, best)
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
