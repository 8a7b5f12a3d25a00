"""A scripted-edit hook for end-to-end tests and benchmarks.

``LAYERFORGE_SCRIPT`` (see app/devhooks) holds a JSON list of steps that the started app
performs through the same document API the canvas uses, e.g.::

    [{"op": "add_node", "type": "Linear", "position": [200, 0]},
     {"op": "save", "path": "/tmp/out.lforge"}, {"op": "quit"}]

Steps: add_node, set_param, connect, select, auto_layout, fit, save, open, quit.

Steps are data, not code: the hook can only make edits a user could make. A step that fails
is reported on stderr and the rest still run.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication

from app.document import EditError
from engine.errors import UserError

if TYPE_CHECKING:
    from app.window.workspace import Workspace


def _step(ws: Workspace, step: dict[str, Any]) -> None:
    doc = ws.document
    graph = step.get("graph") or ws.graph
    op = step.get("op")
    if op == "add_node":
        pos = step.get("position", [0, 0])
        nid = doc.add_node(graph, step["type"], (pos[0], pos[1]), node_id=step.get("id"))
        print(f"layerforge-script added {nid}", flush=True)
    elif op == "set_param":
        doc.set_param(graph, step["node"], step["name"], step["value"])
    elif op == "connect":
        doc.connect(graph, step["src"], step["dst"], step.get("port", "in"))
    elif op == "select":
        ws.tabs.show_graph(graph)
        nodes = list(step.get("nodes", []))
        ws.view().graph_scene.select_nodes(nodes)
        if nodes and step.get("centre"):
            ws.view().centre_on_node(nodes[0])
    elif op == "auto_layout":
        ws.tabs.show_graph(graph)
        ws.auto_layout()
    elif op == "fit":
        ws.tabs.show_graph(graph)
        ws.fit()
    elif op == "save":
        doc.save(step.get("path"))
    elif op == "open":
        ws.files.open_path(step["path"], confirm=False)
    elif op == "quit":
        ws.shutdown()  # what a confirmed close does, without asking about unsaved edits
        QCoreApplication.exit(int(step.get("code", 0)))
    else:
        raise EditError(f"unknown script step {op!r}")


def run_script(ws: Workspace, steps: list[dict[str, Any]]) -> None:
    for step in steps:
        try:
            _step(ws, step)
        except (UserError, KeyError, TypeError, IndexError) as e:
            print(f"layerforge-script-error {step!r}: {e}", file=sys.stderr, flush=True)
