"""Fixtures for the remote-host dialogs, shared by tests/app/dialogs and tests/app/remote
(their conftest files import them): the Hosts dialog, and an answerer for the host-key
question."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.dialogs.host_key import HostKeyDialog
from app.dialogs.hosts import HostsDialog


class HostKeyAnswerer:
    """Clicks Trust (or Cancel) on every host-key dialog that comes up; ``seen`` collects
    the informative text each one showed. A timer does it: the dialog runs its own event
    loop, inside which the test's waiting loop cannot return."""

    def __init__(self, trust: bool) -> None:
        self.trust = trust
        self.seen: list[str] = []
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.timer.start()

    def _on_timer_timeout(self) -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, HostKeyDialog):
            self.seen.append(box.informativeText())
            (box.trust_button if self.trust else box.cancel_button).click()


@pytest.fixture
def answerer():
    """``answerer(trust)`` starts a HostKeyAnswerer; all are stopped at teardown."""
    made: list[HostKeyAnswerer] = []
    yield lambda trust: made.append(HostKeyAnswerer(trust)) or made[-1]
    for a in made:
        a.timer.stop()


@pytest.fixture
def dialog(qtbot, config_dir):
    """The Hosts dialog; its background job is waited for at teardown."""
    d = HostsDialog()
    qtbot.addWidget(d)
    yield d
    d.wait()
    d.close()
    d.deleteLater()  # on the GUI thread, not whenever the GC gets to it
