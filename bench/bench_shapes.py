"""Shape inference of a 200-block graph: analytic rules against meta-device propagation."""

from __future__ import annotations

import statistics
import time

from bench.graphs import residual_cnn


def _best_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return min(times), statistics.median(times)


def run() -> dict[str, float]:
    import torch

    from engine.compile import compile_graph
    from engine.shapes import analyze_graph

    graph = residual_cnn(200)
    assert len(graph.nodes) == 200
    a = analyze_graph(graph)
    assert a.ok, a.problems[:3]
    _, analytic = _best_ms(lambda: analyze_graph(graph), 50)

    gm = compile_graph(graph, analysis=a).to("meta")
    x = torch.empty(1, 3, 32, 32, device="meta")

    def meta_forward():
        with torch.no_grad():
            gm(x)

    meta_forward()
    _, meta = _best_ms(meta_forward, 10)
    return {
        "shape_inference_200_ms": round(analytic, 3),
        "shape_inference_meta_200_ms": round(meta, 3),
        "shape_inference_speedup_vs_meta": round(meta / analytic, 2),
    }
