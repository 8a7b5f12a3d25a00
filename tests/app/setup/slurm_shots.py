"""Drive the real app into the states the guide's section "Train on a rented GPU" shows
(not a test). Run it as the command of ``/work/shared/tools/xshot`` with a temporary
``LAYERFORGE_CONFIG_DIR`` (the scenes write their hosts there)::

    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_CONFIG_DIR=$(mktemp -d) \\
        ../shared/tools/xshot docs/screenshots/guide-hosts-slurm.png 12 1280x800 -- \\
        .venv/bin/python -m tests.app.setup.slurm_shots hosts

Scenes:

``hosts``    Tools > Remote Hosts… with a rented GPU VM and a Slurm cluster (both with a
             price), the cluster selected.
``welcome``  Help > Welcome: the walk-through under the recent projects.
``device``   FILE opened, the Hyperparameters panel in front with the cluster as the device
             (``device FILE``).
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready


def add_hosts() -> None:
    from engine.remote.config import HostConfig, add_host

    add_host(HostConfig(name="a100-spot", host="203.0.113.24", user="ubuntu",
                        key="~/.ssh/id_ed25519", price_per_hour=1.29, currency="USD"),
             replace=True)
    add_host(HostConfig(name="cluster1", host="login.hpc.example.edu", user="me",
                        agent=True, python="~/venvs/lf/bin/python", base_dir="/scratch/me/lf",
                        kind="slurm", partition="gpu", account="lab42",
                        time_limit="1-00:00:00", nodes=2, gpus_per_node=4,
                        price_per_hour=8.0, currency="EUR"), replace=True)


def hosts(ws) -> None:
    dialog = ws.export.open_hosts()
    items = dialog.list.findItems("cluster1", Qt.MatchFlag.MatchExactly)
    if items:
        dialog.list.setCurrentItem(items[0])
    dialog.resize(860, 680)
    dialog.move(200, 50)


def welcome(ws) -> None:
    ws.welcome.show()


def device(ws) -> None:
    ws.perspectives.switch("train")
    panel = ws.setup.hyperparams_panel
    ws.setup.docks["hyperparams"].raise_()
    panel.activate()

    def choose() -> None:
        ws.document.set_field("training", "device", "remote:cluster1")
        ws.document.set_field("training", "gpus", 4)
        panel.ensureWidgetVisible(panel.slurm_note)
    QTimer.singleShot(1500, choose)


def main(argv: list[str]) -> int:
    scene, rest = argv[0], argv[1:]
    app = QApplication.instance() or QApplication(["layerforge"])
    add_hosts()
    actions = {"hosts": hosts, "welcome": welcome, "device": device}
    if scene not in actions:
        print(f"unknown scene {scene}", file=sys.stderr)
        return 2
    QTimer.singleShot(200, lambda: _when_ready(actions[scene]))
    from app.main import main as app_main

    del app
    return app_main(rest[:1])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
