"""The desktop integration files in packaging/: icons, .desktop entry, AppStream metainfo
and the shared-mime-info type, validated with the freedesktop reference tools when present
(`make system-deps` installs them)."""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "packaging"
DESKTOP = PKG / "layerforge.desktop"
MIME = PKG / "layerforge.xml"
METAINFO = PKG / "io.layerforge.LayerForge.metainfo.xml"
MIME_TYPE = "application/x-layerforge-project"
SIZES = (16, 32, 48, 64, 128, 256, 512)
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian package {package}; "
                    "`make system-deps` installs it)")
    return path


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


@pytest.mark.parametrize("size", SIZES)
def test_icon_png_exists_at_its_nominal_size(size):
    path = PKG / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "layerforge.png"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        assert image.getpixel((size // 2, size // 2))[3] == 255  # the icon is drawn, opaque


def test_desktop_file_validates():
    tool = need("desktop-file-validate", "desktop-file-utils")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error:" not in result.stdout


def test_desktop_entry_launches_the_binary_for_projects():
    entry = desktop_entry()
    assert entry["Exec"] == "layerforge %f"
    assert entry["Icon"] == "layerforge"
    assert entry["Terminal"] == "false"
    assert entry["Categories"] == "Development;Science;Education;"
    assert entry["MimeType"] == f"{MIME_TYPE};"
    assert entry["StartupWMClass"] == "layerforge"  # app/main.py: setDesktopFileName


def test_metainfo_validates():
    tool = need("appstreamcli", "appstream")
    result = subprocess.run([tool, "validate", "--no-net", str(METAINFO)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_metainfo_points_at_the_desktop_file_binary_and_screenshots():
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == "io.layerforge.LayerForge"
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("provides/binary") == "layerforge"
    assert root.findtext("provides/mediatype") == MIME_TYPE
    assert root.findtext("project_license") == "MIT"
    assert root.find("releases/release").get("version") == "0.1.0"
    images = [e.text or "" for e in root.iter("image")]
    assert images
    for url in images:
        name = url.rpartition("/docs/screenshots/")[2]
        assert name and (ROOT / "docs" / "screenshots" / name).is_file(), url


def test_mime_type_claims_lforge_files():
    node = ET.parse(MIME).getroot().find(f"{MIME_NS}mime-type")
    assert node is not None and node.get("type") == MIME_TYPE
    assert [g.get("pattern") for g in node.iter(f"{MIME_NS}glob")] == ["*.lforge"]


def test_mime_database_accepts_the_type(tmp_path):
    tool = need("update-mime-database", "shared-mime-info")
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(MIME, packages / MIME.name)
    env = dict(os.environ, XDG_DATA_DIRS=str(tmp_path))  # else it warns: not a search path
    result = subprocess.run([tool, str(tmp_path / "mime")], capture_output=True, text=True,
                            env=env)
    assert result.returncode == 0, result.stderr
    assert not result.stderr.strip(), result.stderr
    assert (tmp_path / "mime" / "application" / "x-layerforge-project.xml").is_file()
    assert f"{MIME_TYPE}:*.lforge" in (tmp_path / "mime" / "globs2").read_text()


def load_entry():
    spec = importlib.util.spec_from_file_location("layerforge_entry", PKG / "entry.py")
    assert spec is not None and spec.loader is not None
    entry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entry)
    return entry


def test_frozen_entry_sends_app_options_to_gui():
    entry = load_entry()
    assert entry.frozen_argv(["--self-test"]) == ["gui", "--self-test"]
    assert entry.frozen_argv(["worker"]) == ["worker"]
    assert entry.frozen_argv([]) == []


def test_frozen_entry_runs_inline_code_like_python_c(tmp_path, monkeypatch):
    entry = load_entry()
    assert entry.inline_code(["summary", "-c"]) is None
    out = tmp_path / "out.txt"
    code = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text(' '.join(sys.argv))"
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    assert entry.main(["-I", "-B", "-c", code, str(out)]) == 0
    assert out.read_text() == f"-c {out}"


def test_frozen_entry_runs_a_script_like_python(tmp_path, monkeypatch):
    """The text export's fresh_check.py and a server folder's server.py are started as
    ``[sys.executable, "-I", SCRIPT, ARG...]``: the frozen binary runs them as scripts."""
    entry = load_entry()
    assert entry.script(["export", "run", "--out", "x"]) is None
    script = tmp_path / "tool.py"
    out = tmp_path / "out.txt"
    script.write_text("import sys, pathlib\n"
                      "if __name__ == '__main__':\n"
                      "    pathlib.Path(sys.argv[2]).write_text(' '.join(sys.argv[1:]))\n")
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    assert entry.main(["-I", str(script), "--port", str(out)]) == 0
    assert out.read_text() == f"--port {out}"


def test_frozen_app_starts_its_worker_with_its_own_binary(monkeypatch):
    from engine.train.worker_client import worker_command

    assert worker_command() == [sys.executable, "-m", "engine.train.worker"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert worker_command() == [sys.executable, "worker"]
