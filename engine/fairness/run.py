"""The bias report of a trained run: its model predicts a split on the CPU, the project's
groupings name each sample's group, Fairlearn compares the groups; RUN/fairness.json
keeps the result for the app and the model card.

The run is opened as ``layerforge evaluate`` opens it (``engine.train.inference``), so the
report is about the same predictions as the run's other figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from engine.fairness.groups import GroupingError, group_labels, ignored_columns
from engine.fairness.report import BiasReport, bias_report
from engine.project import FairnessSpec, Grouping, Project

if TYPE_CHECKING:
    from engine.train.inference import LoadedRun

FAIRNESS_FILE = "fairness.json"


def read_fairness(run_dir: str | Path) -> dict | None:
    """RUN/fairness.json (``BiasReport.to_dict()``), or None when absent or unreadable."""
    try:
        data = json.loads((Path(run_dir) / FAIRNESS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("groupings"), dict) else None


def with_groups(project: Project, names: list[str], min_group: int | None = None) -> Project:
    """``project`` reporting the groupings ``names`` only: each is a grouping of the
    project, else a column of its data (a column grouping made on the fly)."""
    have = {g.name: g for g in project.fairness.groupings}
    for n in names:
        if n not in have and not (0 < len(n.strip()) <= 64):
            raise GroupingError(f"--group {n!r}: name a grouping of the project or a column of "
                                "its data (1 to 64 characters)")
    chosen = [have.get(n) or Grouping(name=n, kind="column", column=n) for n in names]
    spec = FairnessSpec(groupings=chosen, min_group=min_group or project.fairness.min_group)
    return project.model_copy(update={"fairness": spec})


def evaluate_run(run_dir: str | Path, *, split: str = "val", project: Project | None = None,
                 positive: str | None = None, write: bool = True) -> dict[str, BiasReport]:
    """Grouping name -> its report, for the run's model on ``split`` ("val" or "test").

    ``project`` gives the groupings (None: the run's own project); the data and the model
    are always the run's. With ``write`` and at least one grouping, the combined report is
    written to RUN/fairness.json. Raises a UserError with a sentence: a run that is not a
    classifier, a grouping that cannot be read (:class:`GroupingError`)."""
    from engine.train.inference import open_run

    if project is not None and not project.fairness.groupings:
        return {}
    return report_loaded(open_run(run_dir, device="cpu"), split, project=project,
                         positive=positive, write=write)


def report_loaded(loaded: LoadedRun, split: str = "val", *, project: Project | None = None,
                  positive: str | None = None, write: bool = True) -> dict[str, BiasReport]:
    """:func:`evaluate_run` of a run already opened (``engine.train.inference.open_run``
    on the CPU), as ``layerforge evaluate`` has it."""
    import torch

    from engine.writes import atomic_write_text

    fairness = (project or loaded.project).fairness
    if not fairness.groupings:
        return {}
    bundle = loaded.bundle
    if bundle.target != "class" or not bundle.classes:
        raise GroupingError(f"{loaded.run.path}: a bias report compares the classes a model "
                            f"predicts; this run's task is {loaded.project.task.kind}")
    data = bundle.val if split == "val" else bundle.test
    if data is None or len(data) == 0:
        raise GroupingError(f"{loaded.run.path}: the dataset has no {split} split "
                            f"(set dataset.{split}_fraction)")
    # the run's data with the asked groupings: the groups must come from the same rows
    grouped = loaded.project.model_copy(update={"fairness": fairness})
    groups = group_labels(grouped, split, len(data))
    with torch.no_grad():
        out, y = loaded.task.outputs(data, max(loaded.project.training.batch_size, 256))
    assert y is not None
    report = bias_report(y.cpu().tolist(), out.argmax(-1).cpu().tolist(), groups,
                         min_group=fairness.min_group, positive=positive,
                         classes=bundle.classes, split=split)
    report.notes += model_input_notes(grouped)
    if write:
        atomic_write_text(loaded.run.path / FAIRNESS_FILE,
                          json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    return {name: report.only(name) for name in report.groupings}


def model_input_notes(project: Project) -> list[str]:
    """Sentences for CSV column groupings whose column the model also reads as an input."""
    spec = project.dataset
    if spec.source != "csv":
        return []
    ignored = {str(c) for c in (spec.options.get("ignore_columns") or [])}
    if isinstance(spec.options.get("ignore_columns"), str):
        ignored = {spec.options["ignore_columns"]}
    out = []
    for g in project.fairness.groupings:
        if g.kind == "column" and g.column not in ignored and g.column != spec.target:
            out.append(f"grouping '{g.name}': the model reads column '{g.column}' as an input; "
                       f"to keep it out, set dataset.options.ignore_columns to "
                       f"{ignored_columns(project)} and train again")
    return out
