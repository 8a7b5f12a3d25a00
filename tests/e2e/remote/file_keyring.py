"""A keyring backend in a JSON file (tests only), so a `layerforge` subprocess and the test
share one keyring: ``PYTHON_KEYRING_BACKEND=tests.e2e.remote.file_keyring.FileKeyring``
and the file in ``$LAYERFORGE_TEST_KEYRING``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV = "LAYERFORGE_TEST_KEYRING"


class FileKeyring(KeyringBackend):
    """Passwords by (service, user) in the JSON file named by $LAYERFORGE_TEST_KEYRING."""

    priority = 1  # type: ignore[assignment]

    def _path(self) -> Path:
        return Path(os.environ[ENV])

    def entries(self) -> dict[str, str]:
        path = self._path()
        return json.loads(path.read_text()) if path.exists() else {}

    def _write(self, entries: dict[str, str]) -> None:
        self._path().write_text(json.dumps(entries))

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self._write(self.entries() | {f"{service}/{username}": password})

    def delete_password(self, service: str, username: str) -> None:
        entries = self.entries()
        if entries.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError(username)
        self._write(entries)
