"""The ``text_stats`` finding kind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from regurgitate import Payload


@dataclass(frozen=True)
class TextStats(Payload):
    """Size and variety of one generation."""

    kind: ClassVar[str] = "text_stats"   # stored with every finding; the entry point's name
    version: ClassVar[int] = 1           # bump when the fields change, and override upgrade()
    report_label: ClassVar[str] = "text statistics"
    words: int
    distinct_share: float

    @classmethod
    def headline(cls, payloads: Sequence[Payload]) -> str | None:
        shares = [p.distinct_share for p in payloads if isinstance(p, TextStats)]
        if not shares:
            return None
        return f"mean distinct-word share {sum(shares) / len(shares):.2f} (of 1)"
