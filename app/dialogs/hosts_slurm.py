"""The Hosts dialog's fields beyond SSH: the host's kind (an SSH host, or a Slurm cluster's
login node), the Slurm job's partition, account, time limit, nodes and GPUs per node, and
every host's price per hour.

:class:`HostExtras` owns these widgets and adds their rows to the dialog's form; the Slurm
rows show only for a Slurm cluster. :meth:`HostExtras.values` checks what was typed and
returns the :class:`~engine.remote.config.HostConfig` fields, or raises a ProjectError whose
sentence names the field, so the dialog shows it as it shows its other refusals.
"""

from __future__ import annotations

import math
import re
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from engine.project import ProjectError
from engine.remote.config import HostConfig, check_time_limit

KINDS = (("ssh", "SSH host (training runs on it)"),
         ("slurm", "Slurm cluster (login node; training runs as a batch job)"))
CURRENCIES = ("USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "CNY", "INR")

_PARTITION = re.compile(r"^[A-Za-z0-9_.,-]*$")  # several partitions: comma-separated
_ACCOUNT = re.compile(r"^[A-Za-z0-9_.-]*$")
def check_price(text: str) -> float | None:
    """The price per hour typed (``,`` taken as the decimal point), None when empty; a
    ProjectError naming the field for anything else."""
    value = text.strip().replace(",", ".")
    if not value:
        return None
    try:
        price = float(value)
    except ValueError:
        price = math.nan
    if not math.isfinite(price) or price < 0 or price > 1_000_000:
        raise ProjectError(f"Price per hour: {text.strip()!r} is not a price; type a number "
                           "such as 2.50, or leave it empty when the host costs nothing you "
                           "track")
    return price


def check_name_field(label: str, value: str, pattern: re.Pattern[str], allowed: str) -> str:
    if not pattern.match(value):
        raise ProjectError(f"{label}: {value!r} is not a usable Slurm name; use {allowed}, or "
                           "leave it empty for the cluster's default")
    return value


def currency_box() -> QComboBox:
    """An editable currency choice (the common codes listed; any code up to 8 letters)."""
    box = QComboBox()
    box.setEditable(True)
    box.addItems(CURRENCIES)
    box.lineEdit().setMaxLength(8)
    return box


class HostExtras:
    """The kind, Slurm and price widgets of the Hosts dialog."""

    def __init__(self) -> None:
        self.kind = QComboBox()
        for key, text in KINDS:
            self.kind.addItem(text, key)
        self.partition = QLineEdit()
        self.partition.setPlaceholderText("cluster default (e.g. gpu)")
        self.account = QLineEdit()
        self.account.setPlaceholderText("your default account")
        self.time_limit = QLineEdit()
        self.time_limit.setPlaceholderText("partition default (e.g. 4:00:00 or 1-00:00:00)")
        self.time_limit.setToolTip("The job's wall-clock limit in Slurm's format. Before it "
                                   "ends the run checkpoints and the job is requeued, so a "
                                   "long run continues in the next job.")
        self.nodes = QSpinBox()
        self.nodes.setRange(1, 1024)
        self.nodes.setToolTip("Machines the batch job asks for; every node runs the same "
                              "number of processes and they train together")
        self.gpus_per_node = QSpinBox()
        self.gpus_per_node.setRange(0, 64)
        self.gpus_per_node.setSpecialValueText("none (a CPU job)")
        self.gpus_per_node.setToolTip("GPUs asked for on each node (the default of a run; "
                                      "the Hyperparameters panel can change it per project)")
        self.price = QLineEdit()
        self.price.setPlaceholderText("not set (e.g. 2.50)")
        self.price.setToolTip("What one machine (for a Slurm cluster: one node) costs per "
                              "hour; each run's cost is its hours × nodes × this price")
        self.currency = currency_box()
        for box in (self.nodes, self.gpus_per_node):  # a count, not a line of text
            box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            box.setMinimumWidth(140)
        self.price_row = QWidget()
        row = QHBoxLayout(self.price_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.price, 1)
        row.addWidget(self.currency)
        self.form: QFormLayout | None = None
        self.kind.currentIndexChanged.connect(self._on_kind_current_index_changed)

    def add_kind_row(self, form: QFormLayout) -> None:
        form.addRow("Kind:", self.kind)

    def add_rows(self, form: QFormLayout) -> None:
        """The Slurm rows (hidden for an SSH host) and the price row."""
        self.form = form
        form.addRow("Partition:", self.partition)
        form.addRow("Account:", self.account)
        form.addRow("Time limit:", self.time_limit)
        form.addRow("Nodes:", self.nodes)
        form.addRow("GPUs per node:", self.gpus_per_node)
        form.addRow("Price per hour:", self.price_row)
        self._on_kind_current_index_changed()

    @property
    def slurm(self) -> bool:
        return self.kind.currentData() == "slurm"

    def show(self, cfg: HostConfig) -> None:
        self.kind.setCurrentIndex(max(0, self.kind.findData(cfg.kind)))
        self.partition.setText(cfg.partition)
        self.account.setText(cfg.account)
        self.time_limit.setText(cfg.time_limit)
        self.nodes.setValue(cfg.nodes)
        self.gpus_per_node.setValue(cfg.gpus_per_node)
        self.price.setText("" if cfg.price_per_hour is None else f"{cfg.price_per_hour:g}")
        self.currency.setCurrentText(cfg.currency)

    def values(self) -> dict[str, Any]:
        """The HostConfig fields these widgets hold; ProjectError naming a wrong field. An
        SSH host keeps the Slurm defaults (nothing hidden is saved)."""
        price = check_price(self.price.text())
        currency = self.currency.currentText().strip().upper() or "USD"
        if not re.fullmatch(r"[A-Z]{1,8}", currency):
            raise ProjectError(f"Currency: {currency!r} is not a currency code; use letters "
                               "such as USD or EUR")
        out: dict[str, Any] = {"kind": self.kind.currentData(), "price_per_hour": price,
                               "currency": currency}
        if self.slurm:
            out.update(
                partition=check_name_field("Partition", self.partition.text().strip(),
                                           _PARTITION, "letters, digits, '_', '.', '-' "
                                           "(several partitions separated by commas)"),
                account=check_name_field("Account", self.account.text().strip(), _ACCOUNT,
                                         "letters, digits, '_', '.' or '-'"),
                time_limit=check_time_limit(self.time_limit.text()),
                nodes=self.nodes.value(), gpus_per_node=self.gpus_per_node.value())
        return out

    def _on_kind_current_index_changed(self, *_args: object) -> None:
        if self.form is None:
            return
        for w in (self.partition, self.account, self.time_limit, self.nodes,
                  self.gpus_per_node):
            self.form.setRowVisible(w, self.slurm)
