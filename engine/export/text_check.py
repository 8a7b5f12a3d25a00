"""The checks that make a text or sound export trustworthy: the exported folder, run in a
fresh ``python -I`` process with onnxruntime, numpy and tokenizers only
(:mod:`engine.export.fresh_check`), must give what PyTorch gives in LayerForge.

- A text classifier: the fresh process tokenizes fixed texts with ``tokenizer.json``; its
  ids must equal LayerForge's tokenizer's, and its logits PyTorch's within the tolerance.
- Sound (keywords, speech): the fresh process reads a batch of clips from a .npy file; its
  logits must be PyTorch's within the tolerance.
- Sequence to sequence: the fresh process decodes fixed sentences greedily with
  ``encoder.onnx`` and ``decoder.onnx`` (the decoder of the model folder's runtime,
  :mod:`engine.deploy.runtime`, copied beside the script); its texts must be exactly PyTorch's greedy texts
  (the same loop over the exported modules, decoded with LayerForge's tokenizer).

The sentences are the first validation texts of the run's data when it still loads (else
made-up ones), plus texts that test the tokenizer's edges (case, punctuation, unknown
words, a text longer than the model's input).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine.export.common import ExportError, Progress
from engine.export.text import BOS, EOS, PAD, TARGET_TOKENIZER_FILE, TOKENIZER_FILE

SCRIPT = Path(__file__).with_name("fresh_check.py")
#: the model folder's standalone runtime, whose decoders the fresh process runs
RUNTIME = Path(__file__).parents[1] / "deploy" / "runtime.py"
TIMEOUT_S = 300
SENTENCES = 5  # validation sentences a check decodes
PROBES = ("This was NOT bad at all!", "terrible... truly, utterly terrible", "",
          "zqxj unseen-words 1234 ÄÖÜ ☃", "a very long text " * 40)
SCRATCH = ".check"  # beside the staged files; never moved into place


def run_fresh(job: dict[str, Any], stage_dir: Path, progress: Progress) -> dict[str, Any]:
    """Run the fresh-process script on ``job``; its JSON result. ExportError when it fails
    or when torch or LayerForge got imported into it."""
    if progress:
        progress("running the exported files in a fresh Python process")
    scratch = stage_dir / SCRATCH
    scratch.mkdir(exist_ok=True)
    # the script and runtime.py side by side, away from LayerForge, as a served folder has it
    for source in (SCRIPT, RUNTIME):
        shutil.copyfile(source, scratch / source.name)
    job = {**job, "out": str(scratch / "result.npz")}
    (scratch / "job.json").write_text(json.dumps(job), encoding="utf-8")
    env = {**os.environ, "ORT_DISABLE_TELEMETRY": "1"}
    try:
        done = subprocess.run([sys.executable, "-I", str(scratch / SCRIPT.name),
                               str(scratch / "job.json")],
                              capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
                              cwd=stage_dir, check=False)
    except subprocess.TimeoutExpired:
        raise ExportError(f"the exported model did not finish in a fresh Python process "
                          f"within {TIMEOUT_S} s") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ExportError(f"the exported files do not run in a fresh Python process "
                          f"(onnxruntime, numpy and tokenizers only): {why}")
    result = json.loads(lines[-1])
    if result.get("modules"):
        raise ExportError(f"the fresh-process check imported {', '.join(result['modules'])}; "
                          "it must need onnxruntime, numpy and tokenizers only")
    import numpy as np

    with np.load(job["out"]) as arrays:
        result.update({k: arrays[k] for k in arrays.files})
    return result


def validation_texts(src, n: int = SENTENCES) -> list[str]:
    """The first ``n`` validation texts (sources) of the run's data, or [] when the data
    no longer loads (moved files): the checks then use made-up texts only."""
    from engine.data import DataError, load_dataset
    from engine.train.rundir import RunDir, saved_tokenizers

    try:
        bundle = load_dataset(src.project.dataset, tokenizers=saved_tokenizers(RunDir(src.origin)))
    except (DataError, OSError):
        return []
    texts = (bundle.texts or {}).get("val") or []
    return [str(t) for t in texts[:n]]


def _sequence_length(analysis, index: int = 0, default: int = 64) -> int:
    shape = analysis.input_specs()[index].shape
    return int(shape[0]) if shape and shape[0] is not None else default


def _tokenizer(text: str):
    from engine.data.texts.tokenizer import TextTokenizer

    return TextTokenizer.from_json(text)


def check_classifier(stage_dir: Path, model: str, module, analysis, src, atol: float,
                     rtol: float, progress: Progress) -> str:
    """A text classifier: the fresh process's ids and logits against LayerForge's."""
    stage_dir = stage_dir.resolve()
    import numpy as np
    import torch

    from engine.export.onnx_export import compare_close

    info = src.data
    length = _sequence_length(analysis)
    texts = validation_texts(src) + list(PROBES)
    ids = _tokenizer(info["tokenizer"]).encode_batch(texts, length)
    with torch.no_grad():
        ref = module(ids).float().numpy()
    got = run_fresh({"mode": "classify", "model": str(stage_dir / model),
                     "tokenizer": str(stage_dir / TOKENIZER_FILE), "texts": texts,
                     "seq_len": length}, stage_dir, progress)
    bad = [i for i in range(len(texts)) if not np.array_equal(got["ids"][i], ids[i].numpy())]
    if bad:
        raise ExportError(f"{TOKENIZER_FILE} turns {texts[bad[0]][:60]!r} into other ids than "
                          "training did; the exported model would read different text")
    worst = compare_close([ref], [got["logits"]], "texts tokenized in a fresh process",
                          atol, rtol)
    return (f"{len(texts)} texts tokenized with {TOKENIZER_FILE} and run in a fresh process "
            f"(onnxruntime, tokenizers): same ids, logits within {worst:.2g} of PyTorch's")


def probe_clips(analysis, sample_rate: int, n: int = 3):
    """[n, 1, L] float32 clips: a tone sweep, a quiet noise, silence (seeded)."""
    import numpy as np

    length = int(analysis.input_specs()[0].shape[-1])
    t = np.arange(length, dtype=np.float64) / max(sample_rate, 1)
    sweep = 0.5 * np.sin(2 * np.pi * (200 + 1500 * t) * t)
    noise = 0.05 * np.random.default_rng(0).standard_normal(length)
    clips = np.stack([sweep, noise, np.zeros(length)][:n]).astype(np.float32)
    return clips[:, None, :]


def check_audio(stage_dir: Path, model: str, module, analysis, src, atol: float, rtol: float,
                progress: Progress) -> str:
    """A sound model: clips saved as .npy, run in a fresh process; logits against PyTorch."""
    stage_dir = stage_dir.resolve()
    import numpy as np
    import torch

    from engine.export.onnx_export import compare_close

    rate = int(src.data.get("sample_rate") or 16000)
    clips = probe_clips(analysis, rate)
    (stage_dir / SCRATCH).mkdir(exist_ok=True)
    npy = stage_dir / SCRATCH / "clips.npy"
    np.save(npy, clips)
    with torch.no_grad():
        ref = module(torch.from_numpy(clips)).float().numpy()
    got = run_fresh({"mode": "logits", "model": str(stage_dir / model), "inputs": str(npy)},
                    stage_dir, progress)
    worst = compare_close([ref], [got["logits"]], "clips read in a fresh process", atol, rtol)
    return (f"{len(clips)} clips ({rate} Hz) read from a .npy file in a fresh process "
            f"(onnxruntime): logits within {worst:.2g} of PyTorch's")


# -- seq2seq --------------------------------------------------------------------------------


def greedy_reference(encoder, decoder, source, steps: int, names: list[str]):
    """PyTorch's greedy decoding, step for step the loop of the fresh process: the
    generated ids [N, steps] (-1 after EOS) and, per sentence, the gap between the two
    best scores at each step (a near tie may fall either way in another runtime)."""
    import torch

    n = source.shape[0]
    memory = encoder(source)
    tokens = torch.zeros((n, steps), dtype=torch.long)
    tokens[:, 0] = BOS
    feeds = {"tokens": tokens, "memory": memory, "source": source}
    out = torch.full((n, steps), -1, dtype=torch.long)
    gaps = torch.full((n, steps), float("inf"))
    done = torch.zeros(n, dtype=torch.bool)
    for t in range(steps):
        scores = decoder(*(feeds[k] for k in names)).float()[:, t]
        scores[:, [PAD, BOS]] = float("-inf")  # never generated (as the task decodes)
        top2 = scores.topk(2, dim=-1).values if scores.shape[-1] > 1 else None
        best = scores.argmax(-1)
        for i in range(n):
            if not done[i]:
                if top2 is not None:
                    gaps[i, t] = float(top2[i, 0] - top2[i, 1])
                if int(best[i]) == EOS:
                    done[i] = True
                else:
                    out[i, t] = best[i]
        if bool(done.all()):
            break
        if t + 1 < steps:
            tokens[:, t + 1] = torch.where(done, torch.zeros_like(best), best)
    return out, gaps


def check_seq2seq(stage_dir: Path, encoder, enc_analysis, decoder, dec_analysis, src,
                  atol: float, rtol: float, progress: Progress) -> str:
    """Greedy decoding with the two ONNX files in a fresh process against PyTorch's."""
    stage_dir = stage_dir.resolve()
    import numpy as np
    import torch

    names = list(dec_analysis.structure.inputs)
    unknown = [n for n in names if n not in ("tokens", "memory", "source")]
    if "tokens" not in names or "memory" not in names or unknown:
        raise ExportError("the decoder graph's inputs must be named tokens, memory and "
                          f"(optionally) source; it has {', '.join(names)}")
    steps = _sequence_length(dec_analysis, names.index("tokens"))
    length = _sequence_length(enc_analysis)
    info: dict[str, Any] = src.data
    source_tok = _tokenizer(info["tokenizer"])
    target_tok = _tokenizer(info.get("target_tokenizer") or info["tokenizer"])
    texts = validation_texts(src) or list(PROBES[:4])
    ids = source_tok.encode_batch(texts, length)
    with torch.no_grad():
        ref, gaps = greedy_reference(encoder, decoder, ids, steps, names)
    expected = [target_tok.decode([int(v) for v in row if v >= 0]) for row in ref]
    target_file = TARGET_TOKENIZER_FILE if info.get("target_tokenizer") else TOKENIZER_FILE
    got = run_fresh({"mode": "seq2seq", "encoder": str(stage_dir / "encoder.onnx"),
                     "decoder": str(stage_dir / "decoder.onnx"),
                     "tokenizer": str(stage_dir / TOKENIZER_FILE),
                     "target_tokenizer": str(stage_dir / target_file), "texts": texts,
                     "seq_len": length, "target_len": steps + 1, "bos": BOS, "eos": EOS},
                    stage_dir, progress)
    from engine.export.onnx_export import tolerance_for

    ties = 0
    for i, text in enumerate(texts):
        row, mine = got["ids"][i], ref[i].numpy()
        if not np.array_equal(row, mine):
            step = int(np.flatnonzero(row != mine)[0])
            if float(gaps[i, step]) <= tolerance_for(1.0, atol, rtol):
                ties += 1  # the two best tokens tie within float rounding: either is right
                continue
            raise ExportError(f"the ONNX models decode {text[:60]!r} as "
                              f"{got['texts'][i][:60]!r} but PyTorch gives "
                              f"{expected[i][:60]!r} (step {step})")
        if got["texts"][i] != expected[i]:
            raise ExportError(f"{target_file} decodes the output of {text[:60]!r} as "
                              f"{got['texts'][i][:60]!r}, LayerForge's tokenizer as "
                              f"{expected[i][:60]!r}")
    tie_note = f" ({ties} left out: a near tie of the two best tokens)" if ties else ""
    return (f"{len(texts) - ties} sentences decoded greedily with encoder.onnx and "
            f"decoder.onnx in a fresh process (onnxruntime, tokenizers): the same texts as "
            f"PyTorch{tie_note}")
