"""The engine never imports Qt; documents never import QtWidgets (design.md section 2)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QT = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "engine").rglob("*.py")), ids=str)
def test_engine_never_imports_qt(path):
    bad = [m for m in imported_modules(path) if m.split(".")[0] in QT]
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("package", ["document", "runs"])
def test_documents_and_runs_never_import_widgets(package):
    for path in sorted((ROOT / "app" / package).rglob("*.py")):
        bad = [m for m in imported_modules(path) if "QtWidgets" in m or m.startswith("pyqtgraph")]
        assert not bad, f"{path} imports {bad}"


def test_engine_core_imports_without_torch():
    """The editor analyses graphs before torch is loaded: keep torch out of the core."""
    import subprocess
    import sys

    code = ("import sys; import engine.project, engine.graph, engine.shapes, engine.blocks, "
            "engine.layout, engine.templates; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
