"""torch.export (.pt2) export. A .pt2 file is tied to the PyTorch version that wrote it.

Verification runs the exported program in memory, never ``torch.export.load``: that loader
may unpickle parts of the archive (unrestricted loading), which design.md section 7 forbids.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from engine.export.common import ExportError, Progress

CAVEAT = ("A .pt2 file is tied to the PyTorch version that wrote it (torch {version}): load "
          "it with that version, and only if you trust it (torch.export.load may unpickle "
          "parts of it). Prefer ONNX or safetensors + model.py to share a model.")


def write_pt2(path: Path, module, analysis, progress: Progress, graph_name: str,
              metadata: dict[str, str] | None = None) -> dict[str, float]:
    """Export with torch.export, save, and compare the exported program with the module.
    ``metadata`` is saved as the archive's extra file ``layerforge.json``.

    Returns the largest absolute difference per verification case.
    """
    import torch

    from engine.compile import example_inputs
    from engine.export.onnx_export import CASES, dynamic_shapes, quiet

    if progress:
        progress(f"exporting {graph_name} with torch.export")
    xs = tuple(example_inputs(analysis, batch=2, var_len=8))
    try:
        with quiet():
            program = torch.export.export(module, xs,
                                          dynamic_shapes=dynamic_shapes(analysis))
            extra = {"layerforge.json": json.dumps(metadata, ensure_ascii=False)} if metadata \
                else None
            # saved in memory, then written by Python: torch's zip writer aborts the whole
            # process when the disk fills up under it (a C++ error thrown in a destructor)
            buf = io.BytesIO()
            torch.export.save(program, buf, extra_files=extra)
            loaded = program.module()
    except Exception as e:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ExportError(f"torch.export could not export {graph_name}: {reason}") from None
    path.write_bytes(buf.getvalue())  # an OSError here is the disk's: the stage reports it
    diffs: dict[str, float] = {}
    for batch, length in CASES:
        xs = tuple(example_inputs(analysis, batch=batch, var_len=length))
        with torch.no_grad():
            ref, got = module(*xs), loaded(*xs)
        refs = ref if isinstance(ref, tuple) else (ref,)
        gots = got if isinstance(got, tuple) else (got,)
        worst = max(float((r - g).abs().max()) if r.numel() else 0.0
                    for r, g in zip(refs, gots, strict=True))
        if worst > 1e-5:
            raise ExportError(f"the exported program differs from PyTorch by {worst:.3g}")
        diffs[f"batch {batch}"] = worst
    return diffs
