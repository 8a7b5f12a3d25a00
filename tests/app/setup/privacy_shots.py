"""Drive the real app to private training's screens (not a test), as the command of
``../shared/tools/xshot``::

    .venv/bin/python -m tests.app.setup.privacy_shots make /tmp/lf/priv
    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_WARM_WORKER=off \\
    LAYERFORGE_CONFIG_DIR=$(mktemp -d) ../shared/tools/xshot /tmp/lf/shots/privacy.png 40 \\
        1280x800 -- .venv/bin/python -m tests.app.setup.privacy_shots SCENE FILE [RUN_DIR]

Scenes:

``make DIR``      write ``private.lforge`` (the mlp template on 1200 spirals, 8 epochs,
                  privacy on at epsilon 3) and ``private-bn.lforge`` (the same with a
                  BatchNorm1d after fc1) into DIR.
``panel FILE``    the Train perspective, the data's preview loaded, then the
                  Hyperparameters panel scrolled to its Differential privacy group.
``train FILE``    the Train perspective and Train pressed: the live plots, the privacy
                  spent under the learning rate (capture while it runs or after).
``run FILE RUN``  the finished run RUN chosen in Runs: its curves and privacy plot read
                  back from its folder.
``evaluate FILE RUN`` the same in the Evaluate perspective: the run's final metrics and
                  the privacy it spent.
``problems FILE`` the Design perspective with the Problems dock in front: the BatchNorm's
                  finding and its "Fix for private training" button.
``ask FILE``      Train pressed on FILE: the question that offers the fix.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready


def make(folder: str) -> None:
    from engine.project import Edge, Node, save_project
    from engine.templates import load_template

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    p = load_template("mlp")
    p.name = "private"
    p.dataset = p.dataset.model_copy(update={"samples": 1200})
    p.training = p.training.model_copy(update={"epochs": 8, "threads": 1})
    p.training.privacy = p.training.privacy.model_copy(update={"enabled": True})
    save_project(p, out / "private.lforge")
    g = p.graphs["model"]
    fc1 = g.node("fc1")
    assert fc1 is not None
    below = (fc1.position[0], fc1.position[1] + 127.0)
    g.nodes.insert(2, Node(id="bn1", type="BatchNorm1d", position=below))
    g.edges = [e for e in g.edges if e.src != "fc1"] + [Edge(src="fc1", dst="bn1"),
                                                         Edge(src="bn1", dst="relu1")]
    for n in g.nodes[3:]:  # room for the new block on the vertical flow
        n.position = (n.position[0], n.position[1] + 127.0)
    p.name = "private-bn"
    save_project(p, out / "private-bn.lforge")


def panel(ws) -> None:
    """The data's preview loads first (the training split's size gives delta's 1/N)."""
    ws.perspectives.switch("train")
    data = ws.setup.dataset_panel
    ws.setup.docks["dataset"].raise_()
    data.activate()
    hp = ws.setup.hyperparams_panel

    def show() -> None:
        if data.loader.busy:
            QTimer.singleShot(300, show)
            return
        ws.setup.docks["hyperparams"].raise_()
        QTimer.singleShot(500, lambda: hp.ensureWidgetVisible(hp.privacy, 0, 0))
    QTimer.singleShot(1000, show)


def train(ws) -> None:
    ws.perspectives.switch("train")
    ws.training.train_action.trigger()


def run(run_dir: str, perspective: str = "train"):
    def act(ws) -> None:
        ws.perspectives.switch(perspective)
        ws.training.runs.select_runs([run_dir])
        ws.training.plots_dock.raise_()
    return act


def problems(ws) -> None:
    ws.perspectives.switch("design")
    ws.problems_dock.show()
    ws.problems_dock.raise_()
    ws.view().fit_all(readable=True)
    for i, row in enumerate(ws.problems.rows()):
        if row[1] == "bn1":
            ws.problems.tree.setCurrentItem(ws.problems.item(i))
            ws.view().graph_scene.select_nodes(["bn1"])


def ask(ws) -> None:
    ws.perspectives.switch("design")
    QTimer.singleShot(300, ws.training.train_action.trigger)


def main(argv: list[str]) -> int:
    scene, rest = argv[0], argv[1:]
    if scene == "make":
        make(rest[0])
        return 0
    actions = {"panel": panel, "train": train, "problems": problems, "ask": ask}
    if scene in ("run", "evaluate"):
        action = run(str(Path(rest[1]).resolve()), "train" if scene == "run" else "evaluate")
    elif scene in actions:
        action = actions[scene]
    else:
        print(f"unknown scene {scene}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(["layerforge"])
    QTimer.singleShot(200, lambda: _when_ready(action))
    from app.main import main as app_main

    del app
    return app_main([str(Path(rest[0]).resolve())])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
