"""No secrets in a run database: credential-like settings keys and target strings are refused.

:func:`check_no_secrets` refuses a spec whose settings hold a key named like a credential
(``api_key``, ``key``, ``token``, ``authorization``, ``password``, ``secret``, or ending in
``_key``/``_token``/``_secret``; the component names under ``options`` and ``detectors``
are names, not settings, and only the options under them are checked) or whose target
string carries one (``api_key=...``, ``Bearer ...``, ``sk-...``). Also here: comparing a
stored spec with a resumed one.
"""

from __future__ import annotations

import re
from typing import Any

from regurgitate.errors import StoreError
from regurgitate.store import codec
from regurgitate.types import RunSpec

_SECRET_KEYS = {"key", "token", "authorization", "password", "secret", "apikey", "api_key",
                "bearer", "credentials"}
_SECRET_SUFFIXES = ("_key", "_token", "_secret", "_password", "apikey")
_SECRET_IN_TEXT = re.compile(
    r"(?i)(api[_-]?key|access[_-]?token|auth[_-]?token|authorization|password|secret)\s*[=:]"
    r"|bearer\s+\S|\bsk-[A-Za-z0-9_-]{16,}"
)

def is_secret_key(name: str) -> bool:
    """Whether a settings key is named like a credential (such keys are never stored)."""
    norm = name.strip().lower().replace("-", "_")
    return norm in _SECRET_KEYS or norm.endswith(_SECRET_SUFFIXES)


#: settings whose keys are component names (``repeated-token``), not settings of their own;
#: the options under each name are checked as usual
_COMPONENT_MAPS = ("settings.options", "settings.detectors")


def _find_secret_keys(value: Any, path: str = "settings") -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            sub = f"{path}.{k}"
            if isinstance(k, str) and is_secret_key(k) and path not in _COMPONENT_MAPS:
                found.append(sub)
            found.extend(_find_secret_keys(v, sub))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found.extend(_find_secret_keys(v, f"{path}[{i}]"))
    return found


def check_no_secrets(spec: RunSpec) -> None:
    """StoreError if the spec looks like it carries a credential."""
    keys = _find_secret_keys(spec.settings)
    if keys:
        raise StoreError(
            f"refusing to store the run settings: {', '.join(keys)} looks like a credential",
            hint="pass secrets through the environment; the run database never holds them",
        )
    texts = [("target", spec.target), ("index", spec.index or "")]
    for name, text in texts:
        if _SECRET_IN_TEXT.search(text):
            raise StoreError(
                f"refusing to store the run: the {name} description looks like it holds a "
                "credential",
                hint="targets must describe themselves without API keys",
            )


def spec_key(spec: RunSpec) -> dict[str, Any]:
    """The comparable part of a spec (everything but tool_version), JSON-normalised."""
    return {
        "modality": spec.modality,
        "target": spec.target,
        "attacks": list(spec.attacks),
        "index": spec.index,
        "settings": codec.loads(codec.dumps(spec.settings, "settings")),
    }


def settings_diff(old: Any, new: Any, path: str = "settings") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in sorted(set(old) | set(new)):
            if k not in old:
                out.append(f"{path}.{k} added ({brief(new[k])})")
            elif k not in new:
                out.append(f"{path}.{k} removed (was {brief(old[k])})")
            else:
                out.extend(settings_diff(old[k], new[k], f"{path}.{k}"))
        return out
    return [] if old == new else [f"{path}: stored {brief(old)}, now {brief(new)}"]


def brief(value: Any, limit: int = 40) -> str:
    """A value for a one-line message: its repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
