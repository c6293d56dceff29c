"""Default run files named after what the run is, so that another run is never refused as a
resume of a different one.

A scan's default file is ``regurgitate-out/TARGET[-ATTACKS][-INDEX].db``: the attacks when
``--attack`` names them, the index when ``--index`` names one. ``scan`` alone keeps
``reference.db``; ``scan --index other`` gets its own file. An audit's adds the works:
``audit-TARGET-WORKS[-INDEX].db``. A name too long is cut and ends in a short digest of what
was cut, so two different runs never share a file.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

#: the longest file stem a default name has
MAX_STEM = 100


def slug(text: str, limit: int = 60) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:limit] or "run"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _index_part(index: Path | str | None) -> str | None:
    if index is None or str(index) == "reference":
        return None
    text = str(index)
    name = Path(text.split("?")[0].rstrip("/")).name or text
    return f"{slug(name, 30)}-{_digest(text)}"


def _stem(parts: list[str]) -> str:
    stem = "-".join(parts)
    if len(stem) <= MAX_STEM:
        return stem
    return f"{stem[:MAX_STEM - 9]}-{_digest(stem)}"


def scan_run_name(target: str, attacks: str | None = None,
                  index: Path | str | None = None) -> str:
    """The default run file's name of a scan (see the module docstring)."""
    parts = [slug(target)]
    if attacks:
        parts.append(slug(attacks, 40))
    idx = _index_part(index)
    if idx:
        parts.append(idx)
    return _stem(parts) + ".db"


def audit_run_name(target: str, works: Path, index: Path | str | None = None) -> str:
    """The default run file's name of an audit of ``works`` (its resolved path's digest keeps
    two files of the same name apart)."""
    parts = ["audit", slug(target), f"{slug(works.stem, 30)}-{_digest(str(works.resolve()))}"]
    idx = _index_part(index)
    if idx:
        parts.append(idx)
    return _stem(parts) + ".db"
