"""The document's edit API for the project's sweep settings (``Project.sweep``).

``SweepEdits`` is mixed into ``GraphDocument``: a search range marked on a setting or a
block field, or one of the sweep's other settings (trials, sampler...), is one undo step
through the ``ProjectModel.set_sweep_field`` mutator, which emits ``sweep_changed(name)``.
Ranges follow renamed blocks and leave with removed ones inside those edits' own steps
(``commands.OpsCommand``).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app.document.commands import SetSweepCommand
from app.document.errors import EditError
from app.document.sweep_keys import same_field_key
from engine.project import SweepSpec
from engine.sweep.space import SweepError, check_space, parse_spec

if TYPE_CHECKING:
    from PySide6.QtGui import QUndoStack

    from app.document.model import ProjectModel
    from engine.project import Project


def range_problem(project: Project, key: str, spec: str) -> str | None:
    """Why ``spec`` is no range for ``key`` in ``project`` (the engine's sentence, which
    names the key and what to write), or None when it is one."""
    try:
        check_space(project, {key: parse_spec(key, spec)})
    except SweepError as e:
        return "\n".join(line.removeprefix("--param ") for line in str(e).splitlines())
    return None


class SweepEdits:
    """Mark, change and clear search ranges; set the sweep's other settings."""

    # Provided by GraphDocument.
    _model: ProjectModel
    _stack: QUndoStack

    if TYPE_CHECKING:
        @property
        def project(self) -> Project: ...

    def search_range(self, key: str) -> str | None:
        """The range marked on ``key`` (a SPEC such as ``float:0.0001..0.1:log``), if any;
        ``fc1.units`` and ``model/fc1.units`` find the same range."""
        found = same_field_key(self.project, key)
        return self.project.sweep.ranges[found] if found is not None else None

    def set_search_range(self, key: str, spec: str | None) -> None:
        """Mark ``key`` with the range ``spec`` (as ``--param KEY=SPEC`` takes it), or clear
        it with None, in one undo step. Refuses, with the sentence, a range that does not
        parse or does not fit the field, and a key that names no field."""
        ranges = self.project.sweep.ranges
        old_key = same_field_key(self.project, key)
        if spec is None:
            if old_key is None:
                return
            new = {k: v for k, v in ranges.items() if k != old_key}
            text = f"Clear the search range of {key}"
        else:
            problem = range_problem(self.project, key, spec.strip())
            if problem:
                raise EditError(problem)
            spec = parse_spec(key, spec.strip()).spec()
            if old_key == key and ranges[key] == spec:
                return
            # an existing key for the same field keeps its place, under the key given now
            new = {(key if k == old_key else k): v for k, v in ranges.items()}
            new[key] = spec
            text = f"Search {key} over {spec}"
        self._stack.push(SetSweepCommand(self._model, "ranges", copy.deepcopy(ranges), new,
                                         text))

    def set_sweep_field(self, name: str, value: Any) -> None:
        """Set ``project.sweep.<name>`` (trials, workers, seed, sampler, pruner, objectives,
        name, storage; ranges too, though ``set_search_range`` is the way to mark one),
        validated; consecutive edits of one field merge into one undo step."""
        sweep = self.project.sweep
        if name not in SweepSpec.model_fields:
            raise EditError(f"the sweep has no setting {name!r}")
        try:
            checked = SweepSpec.model_validate({**sweep.model_dump(), name: value})
        except ValidationError as e:
            raise EditError(f"sweep {name}: {e.errors()[0]['msg']}") from None
        old, new = copy.deepcopy(getattr(sweep, name)), getattr(checked, name)
        if old != new:
            self._stack.push(SetSweepCommand(self._model, name, old, new))
