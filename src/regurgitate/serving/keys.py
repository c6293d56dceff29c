"""API keys for HTTP clients and servers: read from an environment variable or a file, and
checked in constant time. Messages name the variable or the file, never the key."""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from regurgitate.errors import ConfigError


def read_api_key(env: str | None, file: str | None = None, *,
                 required: bool = False) -> str | None:
    """The key in file ``file`` (stripped; preferred) or environment variable ``env``.

    An unreadable or empty file is a ConfigError. An unset or empty variable gives None, or
    a ConfigError naming it when ``required`` (a server told to use it, a client told to
    send it)."""
    if file is not None:
        path = Path(file).expanduser()
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read API key file {str(path)!r}: {exc.strerror}") from None
        if not key:
            raise ConfigError(f"API key file {str(path)!r} is empty")
        return key
    if env:
        key = os.environ.get(env, "").strip()
        if key:
            return key
        if required:
            raise ConfigError(f"environment variable {env} is empty or unset",
                              hint=f"export {env}=... (the API key) first")
    return None


def bearer_matches(header: str | None, key: str) -> bool:
    """Whether an ``Authorization`` header is ``Bearer <key>`` (constant-time comparison)."""
    given = (header or "").encode("utf-8", "surrogateescape")
    return hmac.compare_digest(given, f"Bearer {key}".encode("utf-8", "surrogateescape"))
