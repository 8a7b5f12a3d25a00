"""Start-up: the window paints before the editor is built, torch is never imported, and
what start-up made is kept out of later full garbage collections (gc.freeze)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The user's path: `layerforge gui FILE` goes through the console script to app.main.
CHILD = """
import sys
from app.cli import main
code = main(["gui", sys.argv[1]])
print("torch-imported", "torch" in sys.modules, flush=True)
import gc
print("frozen", gc.get_freeze_count(), "walked", len(gc.get_objects()), flush=True)
sys.exit(code)
"""


def test_the_window_paints_first_and_the_editor_never_imports_torch(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LAYERFORGE_CONFIG_DIR=str(tmp_path),
               LAYERFORGE_REPORT_STARTUP="1", LAYERFORGE_SCRIPT=json.dumps([{"op": "quit"}]))
    lenet = ROOT / "resources" / "examples" / "lenet5.lforge"
    out = subprocess.run([sys.executable, "-c", CHILD, str(lenet)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    stamps = {ln.split()[0]: float(ln.split()[1]) for ln in out.stdout.splitlines()
              if ln.startswith("layerforge-")}
    assert stamps["layerforge-main"] <= stamps["layerforge-first-paint"] <= stamps["layerforge-ready"]
    assert "torch-imported False" in out.stdout
    # a full collection in the GUI thread walks only what came after start-up
    line = next(ln.split() for ln in out.stdout.splitlines() if ln.startswith("frozen "))
    frozen, walked = int(line[1]), int(line[3])  # get_objects() leaves the frozen ones out
    assert frozen >= 4 * walked, (frozen, walked)
