"""Near-verbatim memorization: a generation that copies a corpus passage with small edits.

Procedure, per generation:

1. *Seeds*: maximal exact matches of >= ``seed_tokens`` tokens (default 16) from the index.
   Seeds of >= ``min_tokens`` tokens (or overlapping one) are verbatim spans and are left to
   the verbatim detector.
2. *Source passage*: for the longest remaining seed, the first corpus occurrence of the seed
   with ``margin_tokens`` tokens of context each side, against the generation window with the
   same margins.
3. *Alignment*: a Levenshtein alignment of window and passage, cut down to its best-scoring
   stretch (+1 per identical character, ``-mismatch_penalty`` (3) per edited one, so only
   stretches more than 75% identical extend it): unrelated text on either side does not count.
   When that core reaches into the outer half of a margin, the margins are doubled (up to
   ``max_margin_tokens``), so long passages are measured whole.
4. *Measures*: normalized edit similarity (rapidfuzz Levenshtein), longest common substring in
   characters, ROUGE-L F1 over words, and the length of the generated core in tokens.
   ``near_verbatim`` is ``edit_similarity >= threshold (0.9) and tokens >= min_tokens (50)``.

At most ``max_seeds`` (16) seeds per generation are tried, longest first; seeds inside an
already measured core are skipped, and a core that overlaps one already kept (the same block
reached from another seed) is dropped, so each aligned passage is reported once per
generation. One finding per measured core whose generated side has at
least ``report_min_tokens`` tokens (default ``min_tokens``: shorter chance matches are not
reported); ``start``/``end`` are its character offsets in the generation, ``score`` its edit
similarity. With ``flagged_only=True`` only near-verbatim cores are reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from regurgitate.detectors.base import Detector, DetectorContext, IndexLike, Item, Prior
from regurgitate.errors import ConfigError
from regurgitate.findings import Finding, NearVerbatimMatch
from regurgitate.metrics.alignment import aligned_core
from regurgitate.metrics.similarity import edit_similarity, longest_common_substring, rouge_l
from regurgitate.options import convert_options
from regurgitate.types import Span


@dataclass(frozen=True)
class _Core:
    gen_start: int  # char offsets in the generation
    gen_end: int
    source: str
    generated: str


class NearVerbatimDetector(Detector):
    """Near-verbatim passages (see the module docstring for the procedure).

    :param seed_tokens: shortest exact match that seeds an alignment, in tokens
    :param min_tokens: a near-verbatim passage has at least this many tokens
    :param threshold: edit similarity at or above which a passage is near-verbatim
    :param margin_tokens: tokens of context each side of a seed that are aligned
    :param max_margin_tokens: the margins double up to this many tokens for long passages
    :param mismatch_penalty: score of an edited character in the alignment (an identical
        one scores +1)
    :param max_seeds: seeds tried per generation, longest first
    :param report_min_tokens: shortest aligned passage reported (none for min_tokens)
    :param flagged_only: report near-verbatim passages only
    """

    name = "near_verbatim"
    options_exclude: ClassVar[tuple[str, ...]] = ("index",)  # the scan's index, from create()

    def __init__(
        self, index: IndexLike, *, seed_tokens: int = 16, min_tokens: int = 50,
        threshold: float = 0.9, margin_tokens: int = 64, max_margin_tokens: int = 1024,
        mismatch_penalty: float = 3.0, max_seeds: int = 16, report_min_tokens: int | None = None,
        flagged_only: bool = False,
    ) -> None:
        if not 1 <= seed_tokens <= min_tokens:
            raise ConfigError(f"need 1 <= seed_tokens <= min_tokens, got {seed_tokens}, "
                              f"{min_tokens}")
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"threshold must be within [0, 1], got {threshold}")
        self.index = index
        self.seed_tokens = seed_tokens
        self.min_tokens = min_tokens
        self.threshold = threshold
        self.margin_tokens = max(1, margin_tokens)
        self.max_margin_tokens = max(self.margin_tokens, max_margin_tokens)
        self.mismatch_penalty = mismatch_penalty
        self.max_seeds = max_seeds
        self.report_min_tokens = min_tokens if report_min_tokens is None else report_min_tokens
        self.flagged_only = flagged_only

    @classmethod
    def create(cls, ctx: DetectorContext,
               options: Mapping[str, Any]) -> NearVerbatimDetector | None:
        if ctx.index is None:
            return None
        opts = convert_options(cls, options, owner="detector 'near_verbatim'", skip=1)
        opts.setdefault("min_tokens", ctx.min_tokens)
        opts.setdefault("seed_tokens", min(16, int(opts["min_tokens"])))
        return cls(ctx.index, **opts)

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        texts = [it.generation.text if it.generation.ok else "" for it in items]
        seeds = self.index.find_spans(texts, min_tokens=self.seed_tokens, max_docs=1,
                                      windows=False)
        work = []
        for it, text, spans in zip(items, texts, seeds, strict=True):
            candidates = self._candidates(spans)
            if candidates:
                ids, offs = self.index.tokenizer.encode_offsets(text)
                work.append((it.generation_id, text, [int(i) for i in ids], offs, candidates))
        # the first corpus occurrence of every seed of the batch, in one batched search
        keys = list(dict.fromkeys(tuple(ids[s.token_start:s.token_end])
                                  for _, _, ids, _, cands in work for s in cands))
        located = self.index.first_occurrences([list(k) for k in keys])
        where = {k: (int(o.doc_id), int(o.token_offset)) if o is not None else None
                 for k, o in zip(keys, located, strict=True)}
        out: list[Finding] = []
        for gid, text, ids, offs, candidates in work:
            out.extend(self._detect_one(gid, text, ids, offs, candidates, where))
        return out

    def _candidates(self, spans: Sequence[Span]) -> list[Span]:
        """Seeds worth measuring: shorter than a verbatim span and outside every one,
        longest first, at most ``max_seeds``."""
        verbatim = [(s.start, s.end) for s in spans if s.tokens >= self.min_tokens]
        return sorted(
            (s for s in spans if s.tokens < self.min_tokens
             and not any(s.start < e and b < s.end for b, e in verbatim)),
            key=lambda s: (-s.tokens, s.start))[:self.max_seeds]

    def _detect_one(self, gid: int, text: str, ids: list[int], offs: np.ndarray,
                    candidates: Sequence[Span],
                    where: dict[tuple[int, ...], tuple[int, int] | None]) -> list[Finding]:
        covered: list[tuple[int, int]] = []
        out: list[Finding] = []
        for seed in candidates:
            if any(b <= seed.start and seed.end <= e for b, e in covered):
                continue
            located = where[tuple(ids[seed.token_start:seed.token_end])]
            if located is None:
                continue
            doc_id, offset = located
            core = self._measure(text, offs, seed, doc_id, offset)
            if core is None:
                continue
            if any(core.gen_start < e and b < core.gen_end for b, e in covered):
                continue  # the same block, aligned again from another seed
            covered.append((core.gen_start, core.gen_end))
            finding = self._finding(gid, core, offs, doc_id)
            match = finding.payload_as(NearVerbatimMatch)
            if match is not None and (match.near_verbatim or (
                    not self.flagged_only and match.tokens >= self.report_min_tokens)):
                out.append(finding)
        return sorted(out, key=lambda f: f.start or 0)

    def _measure(self, text: str, offs: np.ndarray, seed: Span, doc_id: int,
                 offset: int) -> _Core | None:
        n = len(offs)
        margin = self.margin_tokens
        while True:
            lo = max(0, seed.token_start - margin)
            hi = min(n, seed.token_end + margin)
            w_start, w_end = int(offs[lo, 0]), int(offs[hi - 1, 1])
            window = text[w_start:w_end]
            before, match, after = self.index.context(doc_id, offset, seed.tokens, margin=margin)
            source = before + match + after
            gs, ge, ss, se = aligned_core(window, source, self.mismatch_penalty)
            if ge <= gs:
                return None
            # grow a side when the core ends in the nearer half of that side's margin: the
            # copied passage probably goes on beyond the window
            left_chars = int(offs[seed.token_start, 0]) - w_start
            right_chars = w_end - int(offs[seed.token_end - 1, 1])
            grow_left = lo > 0 and gs < left_chars / 2 and len(before) >= margin // 2
            grow_right = (hi < n and len(window) - ge < right_chars / 2
                          and len(after) >= margin // 2)
            if not (grow_left or grow_right) or margin >= self.max_margin_tokens:
                return _Core(w_start + gs, w_start + ge, source[ss:se], window[gs:ge])
            margin = min(margin * 2, self.max_margin_tokens)

    def _finding(self, gid: int, core: _Core, offs: np.ndarray, doc_id: int) -> Finding:
        in_core = (offs[:, 0] < core.gen_end) & (offs[:, 1] > core.gen_start)
        tokens = int(np.count_nonzero(in_core))
        sim = edit_similarity(core.generated, core.source)
        payload = NearVerbatimMatch(
            doc_id=doc_id,
            name=self.index.doc_name(doc_id),
            source_text=core.source,
            generated_text=core.generated,
            edit_similarity=sim,
            lcs_chars=longest_common_substring(core.generated, core.source),
            rouge_l=rouge_l(core.generated, core.source),
            tokens=tokens,
            near_verbatim=sim >= self.threshold and tokens >= self.min_tokens,
        )
        return Finding(generation_id=gid, detector=self.name,
                       start=core.gen_start, end=core.gen_end, score=sim, payload=payload)
