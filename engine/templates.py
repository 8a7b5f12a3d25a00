"""Example projects shipped in resources/examples, used by `layerforge new` and the gallery."""

from __future__ import annotations

from pathlib import Path

from engine.project import FILE_SUFFIX, Project, ProjectError, load_project

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
EXAMPLES = RESOURCES / "examples"


def list_templates() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob(f"*{FILE_SUFFIX}"))


def template_path(name: str) -> Path:
    path = EXAMPLES / f"{name}{FILE_SUFFIX}"
    if not path.is_file():
        raise ProjectError(
            f"unknown template {name!r}: choose one of {', '.join(list_templates())}"
        )
    return path


def load_template(name: str) -> Project:
    return load_project(template_path(name))
