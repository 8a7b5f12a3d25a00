"""SSH passwords in the OS keyring (Secret Service, macOS Keychain, Windows Credential
Locker), never in a file of ours.

A host with ``password: true`` in ``hosts.json`` logs in with the password stored under
the service :data:`SERVICE` and the host's name. ``keyring`` is imported lazily: key and
agent logins never load it. Headless Linux often has only keyring's "fail" backend; then
:func:`keyring_problem` says so, and the user is told to use a key or the SSH agent.
"""

from __future__ import annotations

from typing import Any

from engine.remote.config import RemoteError

SERVICE = "layerforge-ssh"
NO_KEYRING = ("no usable OS keyring was found ({why}), so LayerForge cannot keep a password "
              "safely. Log in with a key file or the SSH agent instead (ssh-keygen, then "
              "ssh-copy-id to the host).")


def _keyring() -> Any:
    try:
        import keyring
    except ImportError:  # pragma: no cover - a dependency, but keep the message
        raise RemoteError(NO_KEYRING.format(why="the keyring package is not installed")) from None
    return keyring


def keyring_problem() -> str | None:
    """A sentence when passwords cannot be stored (no usable keyring backend), else None."""
    try:
        kr = _keyring().get_keyring()
    except RemoteError as e:
        return str(e)
    except Exception as e:  # a broken backend configuration
        return NO_KEYRING.format(why=f"{type(e).__name__}: {e}")
    module = type(kr).__module__
    if module == "keyring.backends.fail":
        return NO_KEYRING.format(why="keyring has only its 'fail' backend here")
    if module == "keyring.backends.chainer" and not getattr(kr, "backends", None):
        return NO_KEYRING.format(why="keyring found no backend")
    if module == "keyring.backends.null":
        return NO_KEYRING.format(why="the keyring is switched off (null backend)")
    return None


def _call(what: str, fn, *args: str) -> Any:
    problem = keyring_problem()
    if problem:
        raise RemoteError(problem)
    try:
        return fn(*args)
    except Exception as e:  # keyring.errors.* and backend (D-Bus, Keychain) errors
        raise RemoteError(f"the OS keyring could not {what} ({type(e).__name__}: {e}); log "
                          "in with a key file or the SSH agent instead") from None


def set_password(host: str, password: str) -> None:
    """Store the login password of the host called ``host`` in the OS keyring."""
    if not password:
        raise RemoteError(f"{host}: the password is empty")
    _call("store the password", _keyring().set_password, SERVICE, host, password)


def get_password(host: str) -> str | None:
    """The stored password of ``host`` (None when none is stored)."""
    return _call("read the password", _keyring().get_password, SERVICE, host)


def delete_password(host: str) -> bool:
    """Forget the stored password of ``host``; False when there was none."""
    if get_password(host) is None:
        return False
    _call("delete the password", _keyring().delete_password, SERVICE, host)
    return True
