"""Private training's check before a run: what DP-SGD cannot take (batch norm mixes the
samples of a batch; PyTorch's recurrent layers give no per-sample gradients), found by the
engine's ``check_private`` (engine/train/privacy_check.py). The project's problems list
holds the findings while privacy is on, so the Problems panel shows them, with one button
(``PRIVACY_FIX``) that applies every fix; and Train offers the same fix, so that a private
run is not started only to fail once Opacus sees the model.

The findings carry the doctor's kind of fix (``engine.train.doctor.Fix``). The kinds the
doctor has (``set_param`` turns on a recurrent block's DP layer) are applied by the Health
tab's own code (``health_fixes.apply_fix``); ``replace`` (a BatchNorm becomes a GroupNorm)
is done here, keeping the block's id, place, label and wires. The fixes of one click are
ONE undo step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from app.document import EditError
from app.window.features.health_fixes import apply_fix
from engine.errors import UserError
from engine.train.privacy_check import PRIVACY_FIX, PrivacyFinding, check_private

if TYPE_CHECKING:
    from app.document import GraphDocument
    from engine.project import Project

#: the Problems panel's button (its FIX_LABELS["privacy_fix"]) and the undo step's name
FIX_TEXT = "Fix for private training"
TITLE = "Private training"

__all__ = ["PRIVACY_FIX", "PrivateGate", "apply_private_fixes", "private_findings",
           "replace_block"]


def private_findings(project: Project) -> list[PrivacyFinding]:
    """What private training cannot take in ``project`` (nothing while privacy is off)."""
    if not project.training.privacy.enabled:
        return []
    return check_private(project)


def apply_private_fixes(document: GraphDocument, findings: list[PrivacyFinding]) -> str:
    """Apply the fix of every finding that has one, as one undo step; the sentence for the
    status bar. A fix that fails takes back those made before it and raises its
    UserError."""
    fixes = [f.fix for f in findings if f.fix is not None]
    if not fixes:
        return ""
    stack = document.undo_stack
    stack.beginMacro(FIX_TEXT if len(fixes) > 1 else str(fixes[0].label))
    try:
        for fix in fixes:
            if fix.kind == "replace":
                replace_block(document, str(fix.key), fix.value)
            else:
                apply_fix(document, fix)
    except Exception:
        stack.endMacro()
        stack.undo()
        raise
    stack.endMacro()
    labels = "; ".join(str(f.label) for f in fixes)
    return f"{labels}: done (Undo takes it back)"


def replace_block(document: GraphDocument, key: str, value: dict[str, Any]) -> str:
    """Make block ``GRAPH/NODE`` (``key``) a ``value["type"]`` block with
    ``value["params"]`` (the Fix kind ``replace``), keeping its id, place, label and wires,
    as one undo step. Returns the block's id."""
    graph, _, node = key.rpartition("/")
    new_type, params = str(value.get("type", "")), dict(value.get("params") or {})
    old = document.node(graph, node) if graph in document.project.graphs else None
    if old is None:
        raise EditError(f"Cannot replace {key}: there is no such block any more (renamed or "
                        "removed)")
    wires = [e for e in document.graph(graph).edges if node in (e.src, e.dst)]
    with _macro(document, f"Replace {node} by {new_type}"):
        document.remove(graph, [node])
        nid = document.add_node(graph, new_type, old.position, params, node_id=node,
                                label=old.label)
        for e in wires:
            src, dst = (nid if e.src == node else e.src), (nid if e.dst == node else e.dst)
            document.connect(graph, src, dst, e.dst_port)
    return nid


@contextmanager
def _macro(document: GraphDocument, text: str) -> Iterator[None]:
    """A nested undo macro (the outer one makes every fix of a click one step)."""
    document.undo_stack.beginMacro(text)
    try:
        yield
    finally:
        document.undo_stack.endMacro()


def describe(findings: list[PrivacyFinding]) -> str:
    """The findings' sentences, one a line, each with its block or setting."""
    return "\n".join(f"• {f.problem()}" for f in findings)


class PrivateGate(QObject):
    """Asked before each run (``allows_training``) and by the Problems panel's Fix button
    (``on_problems_fix_requested``). ``say(text, error)`` shows a sentence in the window."""

    def __init__(self, window: QWidget, document: GraphDocument, say: Any) -> None:
        super().__init__(window)
        self.window = window
        self.document = document
        self.say = say
        #: "fix"/"cancel": how ``allows_training`` answers without asking (tests, demos)
        self.answer = ""

    def allows_training(self) -> bool:
        """True when nothing stops private training (warnings do not); else say why and
        offer the fixes (then True once they are applied and no error is left)."""
        try:
            findings = private_findings(self.document.project)
        except UserError as e:
            self.say(str(e), True)
            return False
        if not _errors(findings):
            return True
        fixable = any(f.fix is not None for f in _errors(findings))
        if not (fixable and self._ask(findings)):
            first = _errors(findings)[0].problem()
            self.say(f"Cannot train privately: {first} (see Problems"
                     + (f"; its button: {FIX_TEXT})" if fixable else ")"), True)
            return False
        if not self._fix(findings):
            return False
        left = _errors(private_findings(self.document.project))
        if left:
            self.say(f"Cannot train privately: {left[0].problem()}", True)
        return not left

    def on_problems_fix_requested(self, fix: str) -> None:
        if fix == PRIVACY_FIX:
            self._fix(private_findings(self.document.project))

    def _fix(self, findings: list[PrivacyFinding]) -> bool:
        try:
            done = apply_private_fixes(self.document, findings)
        except UserError as e:
            self.say(str(e), True)
            return False
        if done:
            self.say(done, False)
        return True

    def _ask(self, findings: list[PrivacyFinding]) -> bool:
        if self.answer in ("fix", "cancel"):
            return self.answer == "fix"
        box = QMessageBox(QMessageBox.Icon.Warning, TITLE,
                          "DP-SGD cannot train this model as it is:\n\n" + describe(findings)
                          + "\n\nApply the fix (one undo step) and train?", parent=self.window)
        box.setTextFormat(Qt.TextFormat.PlainText)
        fix = box.addButton("Fix and Train", QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(fix)
        box.setEscapeButton(cancel)
        box.exec()
        return box.clickedButton() is fix


def _errors(findings: list[PrivacyFinding]) -> list[PrivacyFinding]:
    return [f for f in findings if f.severity == "error"]
