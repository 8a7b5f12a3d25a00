"""Edits of the project's fairness settings (``Project.fairness``) as undo steps.

The document's ``set_field`` covers the dataset, task and training sections and merges
consecutive edits of one field; a grouping added twice in a row must stay two steps, so
each gesture here is one command of its own, made of the document's ``SetSetting`` ops
(the model emits ``settings_changed("fairness", field)`` for each). Removing a grouping
also drops the intersections that name it, in the same step.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from app.document import EditError, GraphDocument
from app.document.commands import OpsCommand
from app.document.ops import SetSetting
from engine.project import FairnessSpec, Grouping

SECTION = "fairness"


def set_fairness(document: GraphDocument, spec: FairnessSpec, text: str,
                 more: list[SetSetting] | None = None) -> bool:
    """Make the project's fairness settings ``spec`` in one undo step named ``text``
    (with the ops ``more``, in the same step); False when nothing changed. Raises
    EditError with the field's complaint when ``spec`` is not valid."""
    try:
        checked = FairnessSpec.model_validate(spec.model_dump())
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise EditError(f"fairness.{where}: {err['msg']}") from None
    old = document.project.fairness
    ops = [SetSetting(SECTION, name, _copy(getattr(old, name)), _copy(getattr(checked, name)))
           for name in type(old).model_fields if getattr(old, name) != getattr(checked, name)]
    ops += more or []
    if not ops:
        return False
    document.undo_stack.push(OpsCommand(document.project_model, text, list(ops)))
    return True


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [v.model_copy(deep=True) if isinstance(v, Grouping) else list(v)
                if isinstance(v, list) else v for v in value]
    return value


def add_grouping(document: GraphDocument, grouping: Grouping) -> str:
    """Add ``grouping`` (its name must be new). A CSV column grouping also leaves its
    column out of the model's inputs (``dataset.options.ignore_columns``, as
    :func:`engine.fairness.ignored_columns` says), in the same step: a model that reads
    the group can learn it. Returns a sentence saying so, or ""."""
    from engine.fairness import ignored_columns

    project = document.project
    spec = project.fairness
    if any(g.name == grouping.name for g in spec.groupings):
        raise EditError(f"A grouping named {grouping.name!r} exists already: choose "
                        "another name.")
    new = spec.model_copy(deep=True)
    new.groupings.append(grouping.model_copy(deep=True))
    options = project.dataset.options
    ignored = ignored_columns(project.model_copy(update={"fairness": new}))
    more, said = [], ""
    if ignored != (options.get("ignore_columns") or []):
        more = [SetSetting("dataset", "options", dict(options),
                           {**options, "ignore_columns": ignored})]
        said = (f"The column '{grouping.column}' is now left out of the model's inputs "
                "(dataset.options.ignore_columns): use Fit model to data in the Dataset "
                "panel before training.")
    set_fairness(document, new, f"Add grouping {grouping.name}", more)
    return said


def remove_grouping(document: GraphDocument, name: str) -> None:
    """Remove the grouping ``name`` and the intersections that name it (one step)."""
    spec = document.project.fairness.model_copy(deep=True)
    spec.groupings = [g for g in spec.groupings if g.name != name]
    spec.intersections = [i for i in spec.intersections if name not in i]
    set_fairness(document, spec, f"Remove grouping {name}")


def add_intersection(document: GraphDocument, names: list[str]) -> None:
    """Add the intersection of the groupings ``names`` (two or more)."""
    if len(names) < 2:
        raise EditError("An intersection crosses two groupings or more: tick at least two.")
    spec = document.project.fairness.model_copy(deep=True)
    if any(sorted(i) == sorted(names) for i in spec.intersections):
        return
    spec.intersections.append(list(names))
    set_fairness(document, spec, f"Add intersection {intersection_name(names)}")


def remove_intersection(document: GraphDocument, names: list[str]) -> None:
    spec = document.project.fairness.model_copy(deep=True)
    spec.intersections = [i for i in spec.intersections if i != names]
    set_fairness(document, spec, f"Remove intersection {intersection_name(names)}")


def set_min_group(document: GraphDocument, value: int) -> None:
    spec = document.project.fairness.model_copy(update={"min_group": int(value)})
    set_fairness(document, spec, "Set the smallest group judged")


def intersection_name(names: list[str]) -> str:
    """The report's name for an intersection (as engine.fairness names it)."""
    return " x ".join(names)
