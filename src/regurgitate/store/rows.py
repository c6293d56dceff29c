"""Rows of the run database <-> records (prompts, generations with their prompts)."""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from regurgitate.store import codec
from regurgitate.types import Generation, GenerationSettings, Item, Prompt


def now() -> str:
    """UTC timestamp with milliseconds, in the same format as SQLite's ``%f`` (sortable)."""
    t = datetime.now(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


ITEM_SQL = (
    "SELECT g.id, p.id, p.attack, p.text, p.messages, p.settings, p.meta,"
    " g.text, g.token_ids, g.logprobs, g.finish_reason, g.prompt_tokens, g.completion_tokens,"
    " g.elapsed_s, g.error, b.data, g.dist_mean, g.dist_var, g.max_tokens"
    " FROM generations g JOIN prompts p ON p.id = g.prompt_id"
    " LEFT JOIN generation_images gi ON gi.generation_id = g.id"
    " LEFT JOIN blobs b ON b.sha256 = gi.sha256"
)


def opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


_SETTINGS_FIELDS = frozenset(f.name for f in dataclasses.fields(GenerationSettings))


def prompt_from_row(r: Sequence[Any]) -> Prompt:
    messages = codec.loads(r[3])
    settings = codec.loads(r[4])
    return Prompt(
        id=r[0], attack=r[1], text=r[2],
        settings=GenerationSettings(
            **{k: v for k, v in settings.items() if k in _SETTINGS_FIELDS}
        ),
        messages=None if messages is None else tuple(messages),
        meta=codec.loads(r[5]),
    )


def item_from_row(r: Sequence[Any]) -> Item:
    prompt = prompt_from_row(r[1:7])
    gen = Generation(
        prompt_id=prompt.id, text=r[7], token_ids=codec.decode_ids(r[8]),
        logprobs=codec.decode_floats(r[9]), finish_reason=r[10], prompt_tokens=r[11],
        completion_tokens=r[12], elapsed_s=r[13], error=r[14],
        image=None if r[15] is None else bytes(r[15]),
        dist_mean=codec.decode_floats(r[16]), dist_var=codec.decode_floats(r[17]),
        max_tokens=r[18],
    )
    return Item(generation_id=int(r[0]), prompt=prompt, generation=gen)


def store_image(conn: sqlite3.Connection, generation_id: int, png: bytes) -> None:
    """Keep a generated image once by its SHA-256 and point the generation at it."""
    digest = hashlib.sha256(png).hexdigest()
    conn.execute("INSERT INTO blobs (sha256, media_type, size, data) VALUES (?, 'image/png', ?, ?)"
                 " ON CONFLICT (sha256) DO NOTHING", (digest, len(png), png))
    conn.execute("INSERT INTO generation_images (generation_id, sha256) VALUES (?, ?)"
                 " ON CONFLICT (generation_id) DO UPDATE SET sha256 = excluded.sha256",
                 (generation_id, digest))
