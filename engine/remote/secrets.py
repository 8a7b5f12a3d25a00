"""SSH passwords in the OS keyring (Secret Service, macOS Keychain, Windows Credential
Locker), never in a file of ours.

A host with ``password: true`` in ``hosts.json`` logs in with the password stored under
the service :data:`SERVICE` and the host's name. :func:`save_host` and :func:`forget_host`
keep the two in step, in one order: validate everything, write ``hosts.json``, touch the
keyring last; so a refused entry never changes a stored password, and removing a host
forgets its password. ``keyring`` is imported lazily: key and
agent logins never load it. Headless Linux often has only keyring's "fail" backend; then
:func:`keyring_problem` says so, and the user is told to use a key or the SSH agent.
"""

from __future__ import annotations

from typing import Any

from engine.project import ProjectError
from engine.remote.config import (
    HostConfig,
    RemoteError,
    check_host,
    get_host,
    remove_host,
    save_hosts,
)

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


def save_host(cfg: HostConfig, *, password: str | None = None, replace: bool = False,
              previous: str | None = None) -> str | None:
    """Save a host entry and its password, validating everything before anything is written.

    ``password`` is a newly typed one; None keeps the stored one (moved along when the entry
    ``previous`` is renamed to ``cfg.name``). Refused, with nothing written: a bad or
    reserved name, another host of that name (without ``replace``), no usable keyring or no
    password for a password host, an empty password. Then ``hosts.json`` is written, then
    the keyring (last); a keyring that fails then puts ``hosts.json`` back as it was.
    Passwords that no entry uses any more are forgotten; returns a warning sentence when
    that fails (the host is saved all the same), else None.
    """
    hosts = check_host(cfg, replace=replace, previous=previous)
    replaced = [hosts[n] for n in dict.fromkeys((previous, cfg.name)) if n and n in hosts]
    store = None
    if cfg.password:
        problem = keyring_problem()
        if problem:
            raise RemoteError(problem)
        if password is not None:
            if not password:
                raise RemoteError(f"{cfg.name}: the password is empty")
            store = password
        elif previous and previous != cfg.name and previous in hosts and hosts[previous].password:
            store = get_password(previous)  # a rename carries the stored password along
            if store is None:
                raise ProjectError(f"enter the password of {cfg.name} (it goes to the OS keyring)")
        elif get_password(cfg.name) is None:
            raise ProjectError(f"enter the password of {cfg.name} (it goes to the OS keyring)")
    updated = {n: h for n, h in hosts.items() if n != previous} | {cfg.name: cfg}
    save_hosts(updated)
    if store is not None:
        try:
            set_password(cfg.name, store)
        except RemoteError:
            save_hosts(hosts)  # no entry that says "password" without one stored
            raise
    stale = [h.name for h in replaced if h.password and (h.name != cfg.name or not cfg.password)]
    return _forget(stale)


def forget_host(name: str) -> str | None:
    """Remove the host ``name`` from ``hosts.json``, then its password from the keyring;
    a warning sentence when the password could not be deleted (the host is removed all
    the same), else None."""
    cfg = get_host(name)
    remove_host(name)
    return _forget([name] if cfg.password else [])


def _forget(names: list[str]) -> str | None:
    """Delete these hosts' passwords; the first failure as a sentence, else None."""
    failed = []
    for name in names:
        try:
            delete_password(name)
        except RemoteError as e:
            failed.append(f"the password of {name} could not be deleted from the OS keyring: {e}")
    return failed[0] if failed else None
