"""Language and sound on the built-in sets, CPU (issue 23).

Quality: each template trained as shipped (its own epochs, data and settings; the device
forced to the CPU), its last epoch's validation figures:

- ``sentiment_lstm_val_accuracy`` and ``text_transformer_val_accuracy`` (builtin
  sentiment), ``translator_val_exact_match`` and ``translator_val_bleu`` (builtin dates),
  ``keyword_cnn_val_accuracy`` (builtin keywords), ``speech_ctc_val_cer`` and
  ``speech_ctc_val_wer`` (builtin spoken_digits); ``<template>_train_seconds`` is the
  training time spent (the sum of the epochs' training parts; the target is <= 300 s),
  ``<template>_wall_seconds`` the whole run with its validation.

Front-end cost: ``logmel_precomputed_vs_in_graph``: training throughput (samples/s) of the
keyword network fed log-mel features computed once beforehand, divided by the same network
computing LogMel from the waveform in every step; the two loops are identical otherwise
(module, optimizer, batch size, loss, threads), epochs alternate, medians are compared. A
ratio near 1 means the in-graph front end costs little and precomputing is not worth
giving up the waveform augmentations (time shift, noise) that need the raw audio.

Each part is measured on its own: a part that fails prints why and the others' figures
are still reported (``language_parts_failed`` counts the failures).
``python -m bench.bench_language --quick`` checks the script on tiny runs (figures mean
nothing); naming templates or ``frontend`` on that line runs only those parts.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

from bench.runs import cpu_project, timed_run

#: template -> (figure key in the validation metrics, name in the results)
QUALITY = {
    "sentiment_lstm": (("accuracy", "val_accuracy"),),
    "text_transformer": (("accuracy", "val_accuracy"),),
    "translator": (("exact_match", "val_exact_match"), ("bleu", "val_bleu")),
    "keyword_cnn": (("accuracy", "val_accuracy"),),
    "speech_ctc": (("cer", "val_cer"), ("wer", "val_wer")),
}
ROUNDS = 5
FRONTEND_SAMPLES = 512
BATCH = 64


def quality(template: str, tmp: Path, quick: bool = False) -> dict[str, float]:
    """Train the template as shipped on the CPU; its last epoch's validation figures."""
    project = cpu_project(template, quick, samples=200, epochs=1)
    last, train_s, wall = timed_run(project, tmp / template)
    out = {f"{template}_{name}": float(last.val[key]) for key, name in QUALITY[template]}
    out.update({f"{template}_epochs": float(last.epoch), f"{template}_train_seconds": train_s,
                f"{template}_wall_seconds": wall})
    return out


# -- front-end cost ---------------------------------------------------------------------------


def keyword_graph():
    """The keyword template's graph (a stand-in CNN on log-mel while it is missing)."""
    from engine.project import Graph

    try:
        from engine.templates import load_template

        return load_template("keyword_cnn").graphs["model"]
    except Exception:  # noqa: BLE001 - the template is another part's; measure anyway
        from engine.project import Edge, Node

        blocks = [("x", "Input", {"shape": [1, 16000]}), ("mel", "LogMel", {}),
                  ("aug", "SpecAugment", {}), ("c1", "Conv2d", {"out_channels": 16}),
                  ("r1", "ReLU", {}), ("p1", "MaxPool2d", {}),
                  ("c2", "Conv2d", {"out_channels": 32}), ("r2", "ReLU", {}),
                  ("gap", "GlobalAvgPool", {}), ("head", "Linear", {"out_features": 8}),
                  ("y", "Output", {})]
        return Graph(nodes=[Node(id=i, type=t, params=p) for i, t, p in blocks],
                     edges=[Edge(src=a[0], dst=b[0]) for a, b in zip(blocks[:-1], blocks[1:], strict=True)])


def split_front_end(graph):
    """(the front end's id, the graph after it: its Input takes the front end's output)."""
    from engine.project import Edge, Graph, Node
    from engine.shapes import analyze_graph

    analysis = analyze_graph(graph)
    front = next(n.id for n in graph.nodes if n.type in ("LogMel", "MFCC", "Spectrogram"))
    source = next(n.id for n in graph.nodes if n.type == "Input")
    shape = list(analysis.nodes[front].out.shape)
    nodes = [Node(id=source, type="Input", params={"shape": shape})]
    nodes += [n for n in graph.nodes if n.id not in (source, front)]
    edges = [Edge(src=source if e.src == front else e.src, dst=e.dst, src_port="out"
                  if e.src == front else e.src_port, dst_port=e.dst_port)
             for e in graph.edges if e.src != source]
    return front, Graph(nodes=nodes, edges=edges)


def _epoch(module, xs, ys, opt) -> float:
    """One epoch of plain training; samples per second."""
    module.train()
    t0 = time.perf_counter()
    for i in range(0, len(xs), BATCH):
        loss = torch.nn.functional.cross_entropy(module(xs[i:i + BATCH]), ys[i:i + BATCH])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return len(xs) / (time.perf_counter() - t0)


def frontend(quick: bool = False) -> dict[str, float]:
    """Throughput with features precomputed once / with LogMel in every step."""
    from engine.compile import compile_graph

    graph = keyword_graph()
    full = compile_graph(graph, "model", 0)
    front, rest_graph = split_front_end(graph)
    rest = compile_graph(rest_graph, "model", 0)
    n = 128 if quick else FRONTEND_SAMPLES
    gen = torch.Generator().manual_seed(0)
    waves = 0.1 * torch.randn((n, *full_input_shape(graph)), generator=gen)
    ys = torch.randint(0, 8, (n,), generator=gen)
    t0 = time.perf_counter()
    with torch.no_grad():
        feats = getattr(full, front)(waves)  # the graph's own LogMel module, once
    once = time.perf_counter() - t0
    runs = {"in_graph": (full, waves), "precomputed": (rest, feats)}
    opts = {k: torch.optim.Adam(m.parameters(), 1e-3) for k, (m, _) in runs.items()}
    speed: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(2 if quick else ROUNDS):
        for k, (m, x) in runs.items():
            speed[k].append(_epoch(m, x, ys, opts[k]))
    ratio = statistics.median(speed["precomputed"]) / statistics.median(speed["in_graph"])
    return {"logmel_precomputed_vs_in_graph": ratio,
            "logmel_in_graph_samples_per_s": statistics.median(speed["in_graph"]),
            "logmel_precompute_seconds_per_1k": once * 1000 / n}


def full_input_shape(graph) -> list[int]:
    return next(list(n.params["shape"]) for n in graph.nodes if n.type == "Input")


def run(quick: bool = False, only: set[str] | None = None) -> dict[str, float]:
    figures: dict[str, float] = {}
    failed = 0
    parts = [*QUALITY, "frontend"]
    with tempfile.TemporaryDirectory(prefix="lf-bench-language-") as tmp:
        for part in parts:
            if only and part not in only:
                continue
            try:
                got = frontend(quick) if part == "frontend" else quality(part, Path(tmp), quick)
            except Exception as e:  # noqa: BLE001 - one failing figure must not hide the rest
                failed += 1
                print(f"   {part} FAILED: {type(e).__name__}: {e}", flush=True)
                if quick:
                    traceback.print_exc()
                continue
            figures.update(got)
    figures["language_parts_failed"] = float(failed)
    return figures


if __name__ == "__main__":
    args = sys.argv[1:]
    for key, value in run(quick="--quick" in args,
                          only={a for a in args if not a.startswith("-")} or None).items():
        print(f"{key} = {value:.4g}")
