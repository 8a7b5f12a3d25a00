"""Files from the Hugging Face Hub, through huggingface_hub's cache.

:func:`fetch` downloads (or finds in the cache) a model repository's files at a revision:
``HF_ENDPOINT`` chooses the server, ``HF_HOME``/``HF_HUB_CACHE`` the cache, and offline
(``HF_HUB_OFFLINE`` set, or the network down) the cached files are used. Only safetensors
and JSON files are ever fetched: a repository whose weights are only a pickle
(``pytorch_model.bin``) is refused, never loaded. Every file is checked against the
checksum the Hub advertised for it (the sha256 of an LFS file, the git blob hash of a small
one) and, when given, against the sha256 the project recorded. Progress is reported as
(bytes done, bytes total) and ``cancel()`` returning True stops a download; nothing partial
is left in the cache as if complete.

Every failure is a :class:`~engine.zoo.ZooError` with a sentence. huggingface_hub is
imported inside the functions: the CLI and the app start without it.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from engine.zoo import ZooError

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]

ALLOWED_SUFFIXES = (".safetensors", ".json")
PICKLE_FILES = ("pytorch_model.bin", "model.pt", "model.pth", "model.ckpt")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_TRUE = {"1", "on", "yes", "true"}
_CHUNK = 1 << 20


class Cancelled(ZooError):
    """The user stopped a download."""


def endpoint() -> str:
    """The Hub server: ``HF_ENDPOINT``, else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def cache_dir() -> Path:
    """huggingface_hub's cache folder, read from the environment at call time."""
    hub = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if hub:
        return Path(hub).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "huggingface" / "hub"


def offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set: only the cache is used."""
    flag = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return flag.strip().lower() in _TRUE


def split_source(source: str) -> str:
    """``hf:OWNER/NAME`` -> ``OWNER/NAME``; :class:`ZooError` for anything else."""
    repo = source[3:] if source.startswith("hf:") else source
    parts = repo.split("/")
    if len(parts) != 2 or not all(re.fullmatch(r"[A-Za-z0-9][\w.-]{0,95}", p) for p in parts):
        raise ZooError(f"{source!r} is not a Hugging Face model id; write it as hf:OWNER/NAME, "
                       "for example hf:microsoft/resnet-18")
    return repo


def fetch(repo: str, revision: str, filenames: Sequence[str], *,
          progress: Progress | None = None, cancel: Cancel | None = None,
          sha256: Mapping[str, str] | None = None) -> list[Path]:
    """The local paths of ``filenames`` of the Hub model ``repo`` at ``revision`` (a
    branch, tag or commit), downloading what the cache lacks.

    ``sha256`` maps a file name to the sha256 it must have (a project's WeightsRef).
    Raises :class:`ZooError` with a sentence: unknown or gated repository, missing file,
    pickle-only weights, no network (or offline) with the file not cached, checksum
    mismatch; :class:`Cancelled` when ``cancel()`` said so.
    """
    repo = split_source(repo)
    revision = revision or "main"
    for name in filenames:
        if not name.endswith(ALLOWED_SUFFIXES) or name.startswith("/") or ".." in name.split("/"):
            raise ZooError(f"{name!r} of hf:{repo}: LayerForge only fetches safetensors and JSON "
                           "files from the Hub (never pickles or code)")
    paths = []
    for name in filenames:
        if cancel is not None and cancel():
            raise Cancelled(f"cancelled: the download of {name} from hf:{repo} was stopped")
        path = _download(repo, revision, name, progress, cancel)
        _verify(path, repo, name, (sha256 or {}).get(name, ""))
        paths.append(path)
    return paths


def _download(repo: str, revision: str, name: str, progress: Progress | None,
              cancel: Cancel | None) -> Path:
    from huggingface_hub import errors as hf
    from huggingface_hub import hf_hub_download

    where = f"{name} of hf:{repo} at revision {revision}"
    if not offline() and not is_cached(repo, revision, name) and not _reachable():
        # huggingface_hub would retry for about 25 s before saying the same
        raise ZooError(f"cannot reach the Hugging Face Hub ({endpoint()}) and {where} is not in "
                       f"the cache ({cache_dir()}); check the network connection and try again")
    _small_chunks()
    try:
        path = hf_hub_download(
            repo, name, revision=revision, cache_dir=str(cache_dir()), endpoint=endpoint(),
            local_files_only=offline(), tqdm_class=_bar_class(progress, cancel, repo, name))
    except Cancelled:
        raise
    except hf.GatedRepoError:
        raise ZooError(f"hf:{repo} is gated: accept its conditions on its Hub page, then log in "
                       "(`hf auth login`, or set HF_TOKEN) and try again") from None
    except hf.RepositoryNotFoundError:
        raise ZooError(f"hf:{repo}: there is no such model on the Hugging Face Hub ({endpoint()}), "
                       "or it is private; check the name (OWNER/NAME) or log in") from None
    except hf.RevisionNotFoundError:
        raise ZooError(f"hf:{repo} has no revision {revision!r}; use a branch, tag or commit of "
                       "the repository (main by default)") from None
    except hf.RemoteEntryNotFoundError:
        raise ZooError(_missing(repo, revision, name)) from None
    except hf.LocalEntryNotFoundError:
        if offline():
            raise ZooError(f"{where} is not in the cache ({cache_dir()}) and offline mode is on "
                           "(HF_HUB_OFFLINE): connect once without it to download it") from None
        raise ZooError(f"cannot reach the Hugging Face Hub ({endpoint()}) and {where} is not in "
                       f"the cache ({cache_dir()}); check the network connection and try "
                       "again") from None
    except hf.HfHubHTTPError as e:
        status = getattr(getattr(e, "response", None), "status_code", None)
        if status in (401, 403):
            raise ZooError(f"hf:{repo}: access denied (HTTP {status}); the model is private or "
                           "gated: log in with a token that may read it (`hf auth login` or "
                           "HF_TOKEN)") from None
        raise ZooError(f"the Hugging Face Hub refused {where} (HTTP {status}); try again "
                       "later") from None
    except OSError as e:
        from engine.errors import os_reason

        raise ZooError(f"cannot download {where}: {os_reason(e)}") from None
    return Path(path)


def _reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub's host accepts a connection (True behind a proxy: not checked)."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                                        "ALL_PROXY", "all_proxy")):
        return True
    url = urlsplit(endpoint())
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def _small_chunks() -> None:
    """Read downloads in 1 MiB pieces (huggingface_hub's default is 10 MiB), so progress
    moves and Cancel is honoured within a second on a slow line."""
    from huggingface_hub import constants

    constants.DOWNLOAD_CHUNK_SIZE = min(constants.DOWNLOAD_CHUNK_SIZE, _CHUNK)


def _missing(repo: str, revision: str, name: str) -> str:
    if name.endswith(".safetensors"):
        pickle = _pickle_file(repo, revision)
        if pickle:
            return (f"hf:{repo} has its weights only as {pickle}, a pickle file, which "
                    "LayerForge never loads (a pickle can run code); choose a model that has "
                    "model.safetensors, or a revision of this one that has it")
    return f"hf:{repo} has no file {name} at revision {revision}"


def _pickle_file(repo: str, revision: str) -> str:
    """The name of a pickle weights file the repository has (asked with HEAD only)."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    for name in PICKLE_FILES:
        try:
            get_hf_file_metadata(hf_hub_url(repo, name, revision=revision, endpoint=endpoint()),
                                 endpoint=endpoint())
        except Exception:  # noqa: BLE001 - any failure: not known to be there
            continue
        return name
    return ""


def _bar_class(progress: Progress | None, cancel: Cancel | None, repo: str, name: str) -> Any:
    """A progress "bar" for huggingface_hub's download loop: reports bytes, and raises
    :class:`Cancelled` inside the loop when ``cancel()`` says so (huggingface_hub then
    deletes its temporary file)."""

    class Bar:
        def __init__(self, *args: Any, total: int | None = None, initial: int = 0,
                     **kwargs: Any) -> None:
            self.total = int(total or 0)
            self.n = int(initial or 0)
            self._tell()

        def _tell(self) -> None:
            if cancel is not None and cancel():
                raise Cancelled(f"cancelled: the download of {name} from hf:{repo} was stopped")
            if progress is not None:
                progress(self.n, max(self.total, self.n))

        def update(self, n: int = 1) -> None:
            self.n += int(n)
            self._tell()

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *exc: object) -> bool:
            return False

        def close(self) -> None:
            pass

        def set_description(self, *args: Any, **kwargs: Any) -> None:
            pass

        def refresh(self, *args: Any, **kwargs: Any) -> None:
            pass

    return Bar


def file_sha256(path: Path) -> str:
    """The sha256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _git_blob_sha1(path: Path) -> str:
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())  # noqa: S324 - git's id
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path, repo: str, name: str, expected: str) -> None:
    """Check ``path`` against the Hub's advertised checksum (the cached blob's name is the
    file's ETag: sha256 for LFS files, git blob sha1 for others) and ``expected``; a file
    that fails is removed from the cache."""
    blob = Path(os.path.realpath(path))
    etag = blob.name if path.is_symlink() else ""
    actual = ""
    if _SHA256.match(etag) or expected:
        actual = file_sha256(blob)
    if _SHA256.match(etag) and actual != etag:
        _drop(path, blob)
        raise ZooError(f"{name} of hf:{repo} is damaged: its sha256 is {actual[:12]}... but the "
                       f"Hub advertised {etag[:12]}...; it was removed from the cache, try again")
    if _SHA1.match(etag) and _git_blob_sha1(blob) != etag:
        _drop(path, blob)
        raise ZooError(f"{name} of hf:{repo} is damaged: it does not match the checksum the Hub "
                       "advertised; it was removed from the cache, try again")
    if expected and actual != expected.lower():
        raise ZooError(f"{name} of hf:{repo} has sha256 {actual[:12]}... but the project records "
                       f"{expected[:12]}...: the weights at this revision changed; import the "
                       "model again or set the revision the project was made with")


def _drop(path: Path, blob: Path) -> None:
    for p in (path, blob):
        try:
            p.unlink()
        except OSError:
            pass


def blob_sha256(path: Path) -> str:
    """The sha256 of a fetched file: its cache blob's name when that is one (the Hub's LFS
    id, checked by :func:`fetch`), else computed."""
    blob = Path(path).resolve().name
    return blob if _SHA256.match(blob) else file_sha256(Path(path))


def resolved_commit(path: Path) -> str:
    """The commit a cached file belongs to (its ``snapshots/<commit>/`` folder), or ""."""
    for parent in Path(path).parents:
        if parent.parent.name == "snapshots":
            return parent.name
    return ""


def is_cached(repo: str, revision: str, filename: str = "model.safetensors") -> bool:
    """Whether the file is in the cache (no network), for the card's "in the cache"."""
    try:
        repo = split_source(repo)
    except ZooError:
        return False
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, filename, cache_dir=str(cache_dir()),
                                   revision=revision or "main")
    return isinstance(found, str) and Path(found).exists()
