"""The project file's versions: ``SCHEMA_VERSION`` and one function per version step.

Each entry of ``MIGRATIONS`` upgrades a raw project dict (parsed JSON, not yet validated)
from version k to k + 1; ``engine.project.migrate`` applies them in order. Version 0 was
the pre-release format with a single top-level "graph".
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 7


def _migrate_0_to_1(raw: dict[str, Any]) -> dict[str, Any]:
    raw = dict(raw)
    if "graph" in raw and "graphs" not in raw:
        raw["graphs"] = {"model": raw.pop("graph")}
    raw["schema_version"] = 1
    return raw


def _migrate_1_to_2(raw: dict[str, Any]) -> dict[str, Any]:
    # Version 2 added Graph.flow; every earlier graph read left to right, the default. The
    # bump itself is the point: an older LayerForge then says a newer one wrote the file.
    raw = dict(raw)
    raw["schema_version"] = 2
    return raw


def _migrate_2_to_3(raw: dict[str, Any]) -> dict[str, Any]:
    # Version 3 added composites and fine-tuning: Node.trainable/lr_mult, Graph.weights/
    # preprocess/info, dataset mean/std and training init_from/freeze_bn/unfreeze*. All
    # default to what version 2 meant.
    raw = dict(raw)
    raw["schema_version"] = 3
    return raw


def _migrate_3_to_4(raw: dict[str, Any]) -> dict[str, Any]:
    # Version 4 added the vision tasks: task kinds segmentation and detection, dataset
    # sources of the same names with annotations/labels/bad_annotations, and the task's
    # ignore_index, size_weight, max_detections, min_score and nms_iou. All default to what
    # version 3 meant.
    raw = dict(raw)
    raw["schema_version"] = 4
    return raw


def _migrate_4_to_5(raw: dict[str, Any]) -> dict[str, Any]:
    # Version 5 added language and speech: sources texts, pairs, audio and speech, task
    # kinds seq2seq and speech, the tokenizer and audio fields and the task's beam_width.
    # dataset.bad_annotations became dataset.bad_entries (it now covers text rows and
    # sound files too); its value is kept.
    raw = dict(raw)
    data = raw.get("dataset")
    if isinstance(data, dict) and "bad_annotations" in data:
        data = dict(data)
        data.setdefault("bad_entries", data.pop("bad_annotations"))
        data.pop("bad_annotations", None)
        raw["dataset"] = data
    raw["schema_version"] = 5
    return raw


def _migrate_5_to_6(raw: dict[str, Any]) -> dict[str, Any]:
    # Version 6 added the sweep settings (``sweep``: search ranges on settings and block
    # fields, objectives, sampler, pruner, trials, workers, SSH hosts, seed) and
    # ``training.stats_every`` (block statistics, default every 50 steps). A project
    # without them has none and the default: nothing to change but the version.
    raw = dict(raw)
    raw["schema_version"] = 6
    return raw


def _migrate_6_to_7(raw: dict[str, Any]) -> dict[str, Any]:
    # Version 7 added the bias report's groupings (``fairness``) and differentially
    # private training (``training.privacy``). Both default to off.
    raw = dict(raw)
    raw["schema_version"] = 7
    return raw


MIGRATIONS = {0: _migrate_0_to_1, 1: _migrate_1_to_2, 2: _migrate_2_to_3, 3: _migrate_3_to_4,
              4: _migrate_4_to_5, 5: _migrate_5_to_6,
              6: _migrate_6_to_7}
