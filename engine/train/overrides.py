"""``--set KEY=VALUE`` overrides of training, dataset and task settings by dotted name."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from engine.project import Project, ProjectError

SECTIONS = ("training", "dataset", "task")


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"training.lr=0.01"`` -> ``("training.lr", 0.01)``; values are JSON when they parse
    as JSON (numbers, true/false, lists), else plain strings."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ProjectError(f"--set {text!r}: expected KEY=VALUE, e.g. training.lr=0.01")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def apply_overrides(project: Project, overrides: dict[str, Any]) -> Project:
    """A copy of ``project`` with each dotted setting replaced and validated.

    Raises :class:`ProjectError` naming the key when it is unknown or the value is invalid.
    """
    project = project.model_copy(deep=True)
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        target: Any = getattr(project, section, None)
        if key.startswith("training.privacy."):  # a nested group: training.privacy.epsilon
            section, name, target = "training.privacy", key.removeprefix("training.privacy."), \
                project.training.privacy
        if section not in (*SECTIONS, "training.privacy") or not name or "." in name:
            raise ProjectError(f"unknown setting {key!r}: use training.NAME, dataset.NAME or "
                               "task.NAME (e.g. training.lr=0.01)")
        fields = type(target).model_fields
        if name not in fields:
            raise ProjectError(f"unknown setting {key!r}; {section} settings are: "
                               f"{', '.join(sorted(fields))}")
        try:
            setattr(target, name, value)
        except ValidationError as e:
            msg = e.errors()[0]["msg"] if e.errors() else str(e)
            raise ProjectError(f"setting {key}={json.dumps(value)}: {msg}") from None
    return project
