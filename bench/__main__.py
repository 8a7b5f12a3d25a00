"""`make bench`: run every benchmark module, merge their figures into bench/results.json.

Each module in bench/ named ``bench_*.py`` defines ``run() -> dict[str, float]``; figures are
flat named numbers, ratios measured in one run against a reference on this machine.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    only = set(argv)
    results: dict[str, float] = {}
    failed = []
    for mod in sorted(m.name for m in pkgutil.iter_modules([str(HERE)])):
        if not mod.startswith("bench_") or (only and mod not in only):
            continue
        t0 = time.perf_counter()
        print(f"== {mod}", flush=True)
        try:
            figures = importlib.import_module(f"bench.{mod}").run()
        except Exception as e:  # a failing benchmark must not hide the others' figures
            failed.append(mod)
            print(f"   FAILED: {type(e).__name__}: {e}", flush=True)
            continue
        for k, v in figures.items():
            print(f"   {k} = {v:.4g}" if isinstance(v, float) else f"   {k} = {v}", flush=True)
        results.update(figures)
        print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
    out = HERE / "results.json"
    old = json.loads(out.read_text()) if out.exists() and only else {}
    old.update(results)
    out.write_text(json.dumps(old, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
