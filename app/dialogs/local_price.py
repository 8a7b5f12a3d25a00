"""The Hosts dialog's "This computer" box: the price per hour of the machine LayerForge runs
on, for the cost of local runs (``machine.json`` in the config folder; the same setting as
``layerforge remote price local``)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLineEdit, QPushButton

from app.dialogs.hosts_slurm import check_price, currency_box
from engine.errors import UserError


class LocalPrice(QGroupBox):
    """Price and currency of this computer, saved with its own button; ``say`` shows the
    outcome (or the refusal, naming the field) in the dialog's result view."""

    def __init__(self, say: Callable[[str], None]) -> None:
        super().__init__("This computer: price per hour")
        from engine.train.usage import local_price

        self.say = say
        self.price = QLineEdit()
        self.price.setPlaceholderText("not set")
        self.price.setToolTip("What an hour of this computer costs you (electricity, a rented "
                              "workstation): local runs record their cost with it")
        self.currency = currency_box()
        self.save_button = QPushButton("Set")
        per_hour, currency = local_price()
        self.price.setText("" if per_hour is None else f"{per_hour:g}")
        self.currency.setCurrentText(currency)
        self.price.setMinimumWidth(60)
        self.setMaximumWidth(260)
        row = QHBoxLayout(self)
        row.addWidget(self.price, 1)
        row.addWidget(self.currency)
        row.addWidget(self.save_button)
        self.save_button.clicked.connect(self.save)
        self.price.returnPressed.connect(self.save)

    def save(self) -> bool:
        from engine.train.usage import set_local_price

        try:
            per_hour = check_price(self.price.text())
            set_local_price(per_hour, self.currency.currentText())
        except UserError as e:
            self.say(str(e))
            return False
        self.say("This computer: " + (f"{per_hour:g} {self.currency.currentText().strip()} "
                                      "per hour; local runs from now on record their cost."
                                      if per_hour is not None else "no price set."))
        return True
