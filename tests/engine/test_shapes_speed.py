"""Shape inference stays interactive (design target: 5 ms for 200 blocks, measured in bench)."""

import time

from bench.graphs import residual_cnn
from engine.shapes import analyze_graph


def test_200_block_analysis_is_fast():
    g = residual_cnn(200)
    analyze_graph(g)
    best = min(_timed(lambda: analyze_graph(g)) for _ in range(20))
    # Generous bound for a loaded CI machine; `make bench` measures the real figure.
    assert best < 0.025, f"{best * 1000:.1f} ms"


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
