"""Where a Hugging Face hub id's files come from: the local cache, or the hub when it can be
reached, decided in seconds.

Without a network, ``from_pretrained("org/name")`` retries for about a minute and then
raises a message of several lines. :func:`resolve_model` answers first: a snapshot already in
the cache (``HF_HUB_CACHE``, as huggingface_hub lays it out:
``models--org--name/snapshots/REV/`` with ``refs/main``) is used as a local directory, with
or without a network; with ``HF_HUB_OFFLINE=1`` nothing else is tried; otherwise one
connection to the hub (``HF_ENDPOINT``), bounded by :data:`PROBE_SECONDS`, tells whether a
download can work before any is attempted.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from regurgitate.errors import TargetError

#: how long the hub may take to accept a connection before it counts as unreachable
PROBE_SECONDS = 3.0

_TRUE = ("1", "true", "yes", "on")


def offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set to a true value."""
    return any(os.environ.get(var, "").strip().lower() in _TRUE
               for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_cache() -> Path:
    """The hub cache folder, read from the environment now (huggingface_hub reads it once,
    at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "huggingface" / "hub"


def cached_snapshot(repo_id: str, revision: str = "main") -> Path | None:
    """The cached snapshot folder of ``repo_id`` at ``revision`` (a branch in ``refs/`` or a
    commit), or None when the cache holds none."""
    folder = hub_cache() / ("models--" + repo_id.replace("/", "--"))
    ref = folder / "refs" / revision
    commit = ref.read_text().strip() if ref.is_file() else revision
    snapshot = folder / "snapshots" / commit
    if (snapshot / "config.json").is_file() or (snapshot / "model_index.json").is_file():
        return snapshot
    return None


def endpoint() -> str:
    """The hub's base URL (``HF_ENDPOINT``, else huggingface.co)."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def reachable(url: str, timeout: float = PROBE_SECONDS) -> bool:
    """Whether ``url`` answers an HTTP request (any status) within ``timeout`` seconds, name
    lookup and proxies included. A TCP connection alone proves nothing: a proxy or sandbox
    may accept it and never answer. Run in a thread, which bounds a lookup too."""
    result: list[bool] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"),
                                        timeout=timeout):
                result.append(True)
        except urllib.error.HTTPError:  # an answer, if not a welcome one
            result.append(True)
        except (OSError, ValueError):
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def is_hub_id(model: str) -> bool:
    """``name`` or ``org/name``; anything else (``./x``, ``/x``, ``a/b/c``) is a path."""
    return bool(model) and not model.startswith((".", "~", "/")) and model.count("/") <= 1


def resolve_model(model: str, *, timeout: float = PROBE_SECONDS) -> str:
    """A local directory for ``model`` when there is one (the path itself, or the hub id's
    cached snapshot); else ``model`` unchanged: a path that does not exist (for the caller
    to report), or a hub id for the library to download, once the hub answered.
    TargetError in one line when the id is not cached and the hub is offline or
    unreachable."""
    if Path(model).expanduser().exists() or not is_hub_id(model):
        return model  # a missing local path is the caller's to report
    snapshot = cached_snapshot(model)
    if snapshot is not None:
        return str(snapshot)
    if offline():
        raise TargetError(f"{model} is not in the Hugging Face cache ({hub_cache()}) and "
                          "HF_HUB_OFFLINE is set",
                          hint="pass a local model directory, or unset HF_HUB_OFFLINE to "
                          "download it")
    url = endpoint()
    if not reachable(url, timeout):
        host = urlsplit(url).hostname or url
        raise TargetError(f"the Hugging Face hub ({host}) can't be reached to fetch {model}",
                          hint="pass a local model directory, or set HF_HUB_OFFLINE=1 to use "
                          "only the local cache")
    return model
