"""The welcome page's walk-through "Train on a rented GPU": it is on the page, its links
open the Remote Hosts dialog and the user guide at the section that says more, and that
section exists in the shipped guide."""

from __future__ import annotations

from pathlib import Path

from app.dialogs.help import UserGuideDialog, slug
from app.dialogs.hosts import HostsDialog
from app.window.welcome_cloud import GUIDE_ANCHOR

ROOT = Path(__file__).resolve().parents[2]


def test_the_walkthrough_links_open_the_hosts_dialog_and_the_guide(ws, qtbot):
    page = ws.welcome.show()
    cloud = page.cloud
    assert cloud.isVisibleTo(page)
    text = cloud.rented.text() + cloud.spot.text()
    for words in ("AWS", "Azure", "Google Cloud", "SSH public key", "port 22",
                  "price per hour", "Slurm", "--resume", "Checkpoint every"):
        assert words in text
    cloud.rented.linkActivated.emit("hosts")
    dialog = ws.window.findChild(HostsDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.close()
    cloud.spot.linkActivated.emit("guide")
    guide = ws.window.findChild(UserGuideDialog)
    assert guide is not None and guide.isVisible()
    assert guide.browser.textCursor().block().text() == "13. Train on a rented GPU"
    guide.close()


def test_the_guide_has_the_section_and_its_screenshot():
    text = (ROOT / "docs" / "user-guide.md").read_text(encoding="utf-8")
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert GUIDE_ANCHOR in [slug(h) for h in headings]
    assert f"(#{GUIDE_ANCHOR})" in text  # listed at the top
    assert (ROOT / "docs" / "screenshots" / "guide-hosts-slurm.png").is_file()
