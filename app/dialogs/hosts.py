"""The Remote hosts dialog: list, add, edit and remove SSH hosts and Slurm clusters (their
login node; the job's settings in :mod:`app.dialogs.hosts_slurm`), each with an optional
price per hour, and test a connection.

Hosts are :class:`engine.remote.config.HostConfig` entries in ``hosts.json`` (config
folder); nothing secret is stored there. A password login keeps the password in the OS
keyring (:mod:`engine.remote.secrets`); without a usable keyring the dialog says so and
points to a key or the SSH agent. "Test connection" probes the host on a background
thread (Python, torch, CUDA, GPUs) and asks about an unknown host key through
:class:`app.dialogs.host_key.HostKeyAsker`; a changed key is refused by the engine, and its
explanation is shown as it comes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.dialogs.host_key import HostKeyAsker
from app.dialogs.hosts_slurm import HostExtras
from app.dialogs.job_dialog import JobDialog
from app.dialogs.local_price import LocalPrice
from app.runs.jobs import Report
from app.runs.slurm_text import price_text, slurm_summary
from app.widgets.path_field import PathField, PathMode
from engine.errors import UserError
from engine.project import ProjectError
from engine.remote.config import HostConfig, load_hosts
from engine.remote.secrets import forget_host, save_host

if TYPE_CHECKING:
    from engine.remote.ssh import HostInfo

AUTH = (("default", "SSH default keys"), ("key", "Key file"), ("agent", "SSH agent"),
        ("password", "Password (stored in the OS keyring)"))


def confirm_remove(parent: QWidget, name: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, "Remove host",
                      f"Remove the host {name} from LayerForge? Runs on it keep going.",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box.exec() == QMessageBox.StandardButton.Yes


def describe_probe(cfg: HostConfig, info) -> str:
    """The result view's text for a successful probe (``info`` is a HostInfo)."""
    lines = [f"Connected to {cfg.name} ({cfg.host}).",
             f"Python: {info.python_version} ({info.python})",
             f"PyTorch: {info.torch or 'not installed'}",
             f"CUDA: {'available' if info.cuda else 'not available'}",
             "GPUs: " + (", ".join(info.gpus) if info.gpus else "none"),
             f"Base folder: {info.base_dir}"]
    problem = info.problem(cfg.python)
    lines.append("")
    lines.append(problem or "The host can run LayerForge training.")
    return "\n".join(lines)


class HostsDialog(JobDialog):
    """Hosts on the left; the selected (or new) host's settings on the right."""

    busy_text = ("The connection test is still running (it gives up after about a minute); "
                 "close when it has finished.")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Remote hosts")
        self.setMinimumSize(760, 460)
        self.resize(860, 640)
        self.asker = HostKeyAsker(self)
        self.probe_ok: bool | None = None
        self.hosts: dict[str, HostConfig] = {}
        self._editing: str | None = None  # name of the stored host shown in the form
        self._testing = HostConfig(name="", host="")  # the host being tested

        self.list = QListWidget()
        self.list.setMinimumWidth(170)
        self.new_button = QPushButton("New")
        self.remove_button = QPushButton("Remove")
        self.name = QLineEdit()
        self.host = QLineEdit()
        self.host.setPlaceholderText("gpu1.example.org, or an alias from ~/.ssh/config")
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("default (22 or ~/.ssh/config)")
        self.port.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.user = QLineEdit()
        self.user.setPlaceholderText("default (~/.ssh/config or your login name)")
        self.auth = QComboBox()
        for key, text in AUTH:
            self.auth.addItem(text, key)
        self.key = PathField(PathMode.OPEN_FILE, "Private key file",
                             start_dir=lambda: self.key.text() or "~")
        self.key.setPlaceholderText("~/.ssh/id_ed25519 (unencrypted; use the agent otherwise)")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("kept in the OS keyring, never in a file")
        self.python = QLineEdit()
        self.base_dir = QLineEdit()
        self.extras = HostExtras()  # kind, Slurm job settings, price per hour
        self.local_price = LocalPrice(lambda text: self.result.setPlainText(text))
        self.save_button = QPushButton("Save")
        self.test_button = QPushButton("Test connection")
        self.result = self.make_job_log("Test the connection to see the host's Python, "
                                        "PyTorch, CUDA and GPUs.")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self._layout()
        self.list.currentTextChanged.connect(self._on_list_current_changed)
        self.new_button.clicked.connect(self.new_host)
        self.remove_button.clicked.connect(self.remove_selected)
        self.save_button.clicked.connect(self.save_host)
        self.test_button.clicked.connect(self.test_connection)
        self.auth.currentIndexChanged.connect(self._on_auth_changed)
        self.buttons.rejected.connect(self.reject)
        self.reload()
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            self.new_host()

    def _layout(self) -> None:
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.new_button)
        row.addWidget(self.remove_button)
        left.addLayout(row)
        left.addWidget(self.local_price)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Name:", self.name)
        self.extras.add_kind_row(form)
        form.addRow("Host:", self.host)
        form.addRow("Port:", self.port)
        form.addRow("User:", self.user)
        form.addRow("Authentication:", self.auth)
        form.addRow("Key file:", self.key)
        form.addRow("Password:", self.password)
        self.form = form
        form.addRow("Python on host:", self.python)
        form.addRow("Base folder:", self.base_dir)
        self.extras.add_rows(form)
        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(self.test_button)
        actions.addWidget(self.save_button)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addLayout(actions)
        right.addWidget(self.result, 1)
        top = QHBoxLayout()
        top.addLayout(left)
        top.addLayout(right, 1)
        box = QVBoxLayout(self)
        box.addLayout(top, 1)
        box.addWidget(self.buttons)

    # -- list --------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        try:
            self.hosts = load_hosts()
        except UserError as e:
            self.hosts = {}
            self.result.setPlainText(str(e))
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addItems(sorted(self.hosts))
        self.list.blockSignals(False)
        if select is not None:
            items = self.list.findItems(select, Qt.MatchFlag.MatchExactly)
            if items:
                self.list.setCurrentItem(items[0])
        self.remove_button.setEnabled(self.list.count() > 0)

    def _on_list_current_changed(self, name: str) -> None:
        if name in self.hosts:
            self.show_host(self.hosts[name])

    def show_host(self, cfg: HostConfig) -> None:
        self._editing = cfg.name
        self.name.setText(cfg.name)
        self.host.setText(cfg.host)
        self.port.setValue(cfg.port or 0)
        self.user.setText(cfg.user or "")
        self.auth.setCurrentIndex(3 if cfg.password else 2 if cfg.agent else 1 if cfg.key else 0)
        self.key.setText(cfg.key or "")
        self.password.clear()
        self.password.setPlaceholderText(
            "stored in the OS keyring; type to replace it" if cfg.password
            else "kept in the OS keyring, never in a file")
        self.python.setText(cfg.python)
        self.base_dir.setText(cfg.base_dir)
        self.extras.show(cfg)
        self._on_auth_changed()
        self.result.clear()

    def new_host(self) -> None:
        self.list.clearSelection()
        self.list.setCurrentRow(-1)
        self.show_host(HostConfig(name="", host=""))
        self._editing = None
        self.name.setFocus()

    def _on_auth_changed(self, *_args: object) -> None:
        auth = self.auth.currentData()
        self.key.setEnabled(auth == "key")
        self.form.setRowVisible(self.password, auth == "password")
        if auth == "password":
            from engine.remote.secrets import keyring_problem

            problem = keyring_problem()
            self.password.setEnabled(problem is None)
            if problem:
                self.result.setPlainText(f"Password login is not available: {problem}")

    # -- editing -----------------------------------------------------------------------
    def form_config(self) -> HostConfig:
        """The form as a HostConfig; ProjectError with a sentence when a field is wrong."""
        from pydantic import ValidationError

        from engine.remote.config import check_name

        name, host = self.name.text().strip(), self.host.text().strip()
        check_name(name)
        if not host:
            raise ProjectError("give the host's address (or an alias from ~/.ssh/config)")
        auth = self.auth.currentData()
        key = self.key.text().strip() if auth == "key" else ""
        if auth == "key" and not key:
            raise ProjectError("choose the private key file, or another authentication")
        if auth == "password":
            from engine.remote.secrets import keyring_problem

            problem = keyring_problem()
            if problem:
                raise ProjectError(problem)
        extras = self.extras.values()
        try:
            return HostConfig(name=name, host=host, port=self.port.value() or None,
                              user=self.user.text().strip() or None, key=key or None,
                              agent=auth == "agent", password=auth == "password",
                              python=self.python.text().strip() or "python3",
                              base_dir=self.base_dir.text().strip() or "~/.layerforge",
                              **extras)
        except ValidationError as e:
            raise ProjectError(f"the host settings are not valid: {e.errors()[0]['msg']}") from None

    def save_host(self) -> bool:
        """Add the form's host, or replace the one being edited (renaming it if needed).
        Everything is validated first; ``hosts.json`` is written, then the OS keyring, last
        (:func:`engine.remote.secrets.save_host`), so a refused save changes no password."""
        try:
            cfg = self.form_config()
            typed = self.password.text() if cfg.password else ""
            warning = save_host(cfg, password=typed or None, previous=self._editing)
        except UserError as e:  # RemoteError (keyring trouble) included
            self.result.setPlainText(f"Not saved: {e}")
            return False
        self.password.clear()
        self.reload(select=cfg.name)
        self._editing = cfg.name
        lines = [f"Saved {cfg.name}: {cfg.describe()}", slurm_summary(cfg),
                 f"Price: {price_text(cfg)}" if cfg.price_per_hour is not None else ""]
        self.result.setPlainText("\n".join(line for line in lines if line)
                                 + (f"\n\nNote: {warning}." if warning else ""))
        return True

    def remove_selected(self) -> bool:
        item = self.list.currentItem()
        if item is None or not confirm_remove(self, item.text()):
            return False
        name = item.text()
        try:
            warning = forget_host(name)  # hosts.json first, then the keyring
        except UserError as e:
            self.result.setPlainText(str(e))
            return False
        self.reload()
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            self.new_host()
        self.result.setPlainText(f"Removed {name}." + (f"\n\nNote: {warning}." if warning else ""))
        return True

    # -- testing -----------------------------------------------------------------------

    def test_connection(self) -> bool:
        """Probe the host in the form (saved or not) in the background."""
        if self.busy():
            return False
        try:
            cfg = self.form_config()
        except UserError as e:
            self.result.setPlainText(f"Cannot test: {e}")
            return False
        ask = self.asker.ask
        typed = self.password.text() if cfg.password and self.password.text() else None

        def job(_report: Report) -> HostInfo:
            from engine.remote.ssh import RemoteHost

            remote = RemoteHost(cfg, confirm_host_key=ask, password=typed)
            try:
                return remote.probe(refresh=True)
            finally:
                remote.close()

        self.probe_ok = None
        self.result.setPlainText(f"Connecting to {cfg.name} ({cfg.host})…")
        self.test_button.setEnabled(False)
        self._testing = cfg
        self.run_job(job)
        return True

    def job_succeeded(self, result: HostInfo) -> None:
        cfg = self._testing
        self.probe_ok = result.problem(cfg.python) is None
        self.result.setPlainText(describe_probe(cfg, result))

    def job_failed(self, message: str) -> None:
        self.probe_ok = False
        self.result.setPlainText(f"Connection failed: {message}")

    def job_ended(self) -> None:
        self.test_button.setEnabled(True)
