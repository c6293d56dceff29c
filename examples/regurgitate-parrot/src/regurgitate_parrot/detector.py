"""``text_stats``: words and distinct-word share of each generation."""

from __future__ import annotations

from collections.abc import Sequence

from regurgitate import Detector, Finding, Item, Prior
from regurgitate_parrot.findings import TextStats


class TextStatsDetector(Detector):
    """One ``text_stats`` finding per generation of at least ``min_words`` words.

    :param min_words: generations with fewer words get no finding
    """

    name = "text_stats"

    def __init__(self, min_words: int = 1) -> None:
        self.min_words = min_words

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        out = []
        for it in items:
            words = it.generation.text.split()
            if not it.generation.ok or len(words) < self.min_words:
                continue
            share = len(set(words)) / len(words)
            out.append(Finding(it.generation_id, self.name,
                               TextStats(words=len(words), distinct_share=round(share, 4)),
                               score=share))
        return out
