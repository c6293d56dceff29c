"""Texts cut into passages, and the reference corpus's same-source member and non-member sets.

A passage keeps the identity of the work it came from (``group``): passages of one work are
alike, so any split that fits on one part and tests on another keeps a work's passages
together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from regurgitate.errors import ConfigError

PASSAGE_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Passage:
    group: str
    text: str


def cut_passages(group: str, text: str, chars: int = PASSAGE_CHARS,
                 min_chars: int | None = None) -> list[Passage]:
    """``text`` cut at paragraph boundaries (blank lines) into passages of about ``chars``
    characters; a last piece shorter than ``min_chars`` (default ``chars // 4``) is dropped.
    A paragraph longer than ``chars`` stays whole."""
    if chars < 1:
        raise ConfigError(f"passage length must be positive, got {chars}")
    floor = chars // 4 if min_chars is None else min_chars
    out: list[Passage] = []
    buf: list[str] = []
    size = 0
    for para in text.split("\n\n"):
        if not para.strip():
            continue
        buf.append(para)
        size += len(para) + 2
        if size >= chars:
            out.append(Passage(group, "\n\n".join(buf)))
            buf, size = [], 0
    if buf and size >= floor:
        out.append(Passage(group, "\n\n".join(buf)))
    return out


def passages_of(works: Sequence[tuple[str, str]], chars: int = PASSAGE_CHARS) -> list[Passage]:
    """Every work ``(name, text)`` cut into passages."""
    return [p for name, text in works for p in cut_passages(name, text, chars)]


def reference_sets(chars: int = PASSAGE_CHARS) -> tuple[list[Passage], list[Passage]]:
    """Passages of the reference corpus's background documents (members: trained on, one
    copy each) and of the shipped held-out background (non-members: same source, never
    trained on), cut the same way."""
    from regurgitate.reference.text.heldout_background import heldout_background, member_background

    members = passages_of([(d.id, d.text) for d in member_background()], chars)
    heldout = passages_of([(d.id, d.text) for d in heldout_background()], chars)
    return members, heldout
