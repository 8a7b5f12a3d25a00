"""The welcome page's short walk-through of training on rented or shared machines: a GPU VM
rented from a cloud provider, added as a host with its price, and spot (preemptible)
machines used without losing work. The user guide's section "Train on a rented GPU" says
the same at more length (``GUIDE_ANCHOR``).

Only text and two links: ``hosts_requested`` (open Tools > Remote Hosts…) and
``guide_requested(anchor)``; the welcome feature acts on them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

#: the user guide's heading for this walk-through, as a link anchor
GUIDE_ANCHOR = "13-train-on-a-rented-gpu"

RENTED = (
    "<ol style='margin-left:-20px'>"
    "<li>Rent a GPU VM (AWS EC2, Azure, Google Cloud) from an image with the NVIDIA driver, "
    "CUDA and PyTorch (a “Deep Learning” image; Python 3.11). Give it your SSH public key and "
    "open port 22 to your own address only.</li>"
    "<li><a href='hosts'>Remote Hosts…</a> → New: its address, user, key file and its price "
    "per hour; Test connection shows its GPUs.</li>"
    "<li>Hyperparameters → Device: <i>remote:NAME</i>, then Train. The plots follow the run "
    "live; Runs shows its GPU-hours and cost. Stop the VM when you are done.</li>"
    "</ol>")
SPOT = (
    "A spot or preemptible machine can be taken back at any time; only the work since the "
    "last checkpoint is lost (<i>Checkpoint every</i>: 1 epoch unless you change it). A "
    "<b>Slurm cluster</b> requeues the job, which continues from its checkpoint by itself. "
    "On an <b>SSH host</b>, have the VM stopped rather than deleted when it is evicted; "
    "start it again, then in Runs press Attach (the run shows as failed) and Resume: it "
    "continues exactly from its last checkpoint (<tt>layerforge train --resume RUN</tt>). "
    "<a href='guide'>More in the user guide</a>.")


def _text(html: str) -> QLabel:
    label = QLabel(html)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                  | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
    return label


class CloudGuide(QWidget):
    """Two short paragraphs under the recent projects: renting a GPU, and spot machines."""

    hosts_requested = Signal()
    guide_requested = Signal(str)

    def __init__(self, heading, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome_cloud")
        self.rented = _text(RENTED)
        self.spot = _text(SPOT)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        lay.addWidget(heading("Train on a rented GPU"))
        lay.addWidget(self.rented)
        lay.addWidget(heading("Spot and preemptible machines, safely", 1.0))
        lay.addWidget(self.spot)
        for label in (self.rented, self.spot):
            label.linkActivated.connect(self._on_link_activated)

    def _on_link_activated(self, link: str) -> None:
        if link == "hosts":
            self.hosts_requested.emit()
        elif link == "guide":
            self.guide_requested.emit(GUIDE_ANCHOR)
