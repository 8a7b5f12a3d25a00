"""Asking the user about an unknown SSH host key, from the engine's background SSH thread.

The engine calls ``confirm_host_key(host, key_type, sha256_fingerprint) -> bool`` on its own
thread while the connecting call waits. :class:`HostKeyAsker` lives in the GUI thread; its
:meth:`HostKeyAsker.ask` may be called from any thread: it hands the question to the GUI
thread over a blocking queued connection and returns the user's answer. Only Trust accepts
the key (the engine then records it); closing the dialog or Cancel refuses it.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget


class HostKeyDialog(QMessageBox):
    """Shows the host and the key's fingerprint (plain text) with Trust / Cancel."""

    def __init__(self, host: str, key_type: str, fingerprint: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("host_key_dialog")
        self.setIcon(QMessageBox.Icon.Warning)
        self.setWindowTitle("Unknown host key")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(f"LayerForge has not connected to {host} before.")
        self.setInformativeText(
            f"The host presents this {key_type} key:\n\n{fingerprint}\n\n"
            "Trust it only if it matches the host's real key (ask its administrator, or run "
            "ssh-keygen -lf on the host's key file). A trusted key is recorded, and a later "
            "change of key is refused.")
        self.trust_button = self.addButton("Trust", QMessageBox.ButtonRole.AcceptRole)
        self.cancel_button = self.addButton(QMessageBox.StandardButton.Cancel)
        self.setDefaultButton(self.cancel_button)
        self.setEscapeButton(self.cancel_button)

    def trusted(self) -> bool:
        return self.clickedButton() is self.trust_button


class HostKeyAsker(QObject):
    """Marshals host-key questions to the GUI thread. Create it in the GUI thread."""

    question_posed = Signal(str, str, str)
    answered = Signal(bool)  # after each question, with the answer

    def __init__(self, parent_widget: QWidget | None = None) -> None:
        super().__init__(parent_widget)
        self._widget = parent_widget
        self._answer = False
        self._lock = threading.Lock()  # one question at a time
        self.question_posed.connect(self._on_question_posed,
                                    Qt.ConnectionType.BlockingQueuedConnection)

    def ask(self, host: str, key_type: str, fingerprint: str) -> bool:
        """The engine's ``confirm_host_key``: True only when the user chose Trust."""
        with self._lock:
            if QThread.currentThread() is self.thread():  # already on the GUI thread
                self._on_question_posed(host, key_type, fingerprint)
            else:
                self.question_posed.emit(host, key_type, fingerprint)
            return self._answer

    @Slot(str, str, str)
    def _on_question_posed(self, host: str, key_type: str, fingerprint: str) -> None:
        dialog = HostKeyDialog(host, key_type, fingerprint, self._widget)
        dialog.exec()
        self._answer = dialog.trusted()
        dialog.deleteLater()
        self.answered.emit(self._answer)
