"""Presentation helpers shared by the reports: one timestamp format, the index as a table.

Every timestamp a report shows goes through :func:`timestamp` (``YYYY-MM-DD HH:MM:SS UTC``),
whatever form it was stored in (ISO 8601 with ``T``/``Z``/offset, or a datetime).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S UTC"

#: index description keys shown, in order, with their labels
_INDEX_ROWS: tuple[tuple[str, str], ...] = (
    ("path", "Path"), ("format", "Format"), ("tokenizer", "Tokenizer"), ("dtype", "Token type"),
    ("num_docs", "Documents"), ("num_tokens", "Tokens"), ("num_shards", "Shards"),
    ("bytes", "Size on disk"), ("created", "Built"), ("build_seconds", "Build time"),
)


def timestamp(value: Any) -> str:
    """``value`` (a datetime or an ISO 8601 string) as ``YYYY-MM-DD HH:MM:SS UTC``; other
    values are returned as text unchanged."""
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # the store writes UTC
    return dt.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def index_rows(info: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The index description as (label, value) rows: readable numbers, the tokenizer by
    name, one timestamp format; keys not listed above follow with their raw names."""
    if not info:
        return []
    rows: list[tuple[str, str]] = []
    for key, label in _INDEX_ROWS:
        value = info.get(key)
        if value is None or value == "":
            continue
        if key == "tokenizer" and isinstance(value, dict):
            text = str(value.get("name") or value.get("kind") or "?")
            if value.get("vocab_size"):
                text += f" ({int(value['vocab_size']):,} ids)"
        elif key == "bytes" and isinstance(value, int | float):
            text = _size(int(value))
        elif key == "created":
            text = timestamp(value)
        elif key == "build_seconds" and isinstance(value, int | float):
            text = f"{float(value):.1f} s"
        elif isinstance(value, int):
            text = f"{value:,}"
        else:
            text = str(value)
        rows.append((label, text))
    known = {k for k, _ in _INDEX_ROWS}
    for key, value in info.items():
        if key not in known and key != "name" and not isinstance(value, dict | list):
            rows.append((key, str(value)))
    return rows
