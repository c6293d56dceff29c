"""How close is a text to the works of a corpus, and to which work?

:func:`closeness` answers, for any text (a model's output, a book) against a corpus index:

* the exact maximal spans of >= ``min_tokens`` tokens that occur in the corpus (each with its
  own corpus count and documents) and their union (``coverage``);
* per source work (corpus document), figures of the **whole text** first:

  - ``aligned_share``: the share of the text's characters that passages aligned to that
    work match, character for character. Each passage grows from an exact match of >=
    ``seed_tokens`` tokens (a *seed*): the text around the seed and the same number of
    characters around the seed's occurrence in the work are aligned and cut to their
    best-scoring stretch (:func:`regurgitate.metrics.alignment.aligned_core`, the
    near-verbatim detector's own alignment); the characters the alignment pairs with identical
    ones count. A copy with every fifth word changed is one passage spanning the whole text,
    of which some 80% is matched. At most ``MAX_PASSAGES`` seeds per work are aligned,
    longest first, skipping seeds already inside a passage; every seed counts whole.
  - ``text_rouge_l``: ROUGE-L of the whole text against the work's window of the same length
    in words that maximises it (CopyBench's literal-copy measure,
    :class:`regurgitate.metrics.literal_copy.WindowScorer`), searched in the work around its
    longest seed (``WINDOW_MARGIN_TOKENS`` or twice the text's length each side: the whole
    work for works of a few thousand tokens).
  - ``verbatim_share``: the share of the text inside verbatim spans (>= ``min_tokens``) found
    in that work, and the longest such span.

  then figures of one **passage**, the longest aligned one, always with its length
  (``passage_tokens``, ``passage_chars``): normalized edit similarity, ROUGE-L (words) and
  the longest common substring (characters). They describe that passage only: a shared
  18-token sentence has edit similarity 1.0 whatever surrounds it.
  ``near_verbatim``: some passage has edit similarity >= ``threshold`` (0.9) over >=
  ``min_tokens`` tokens, the near-verbatim detector's rule.
* a one-line verdict built on the text-level figures (:func:`verdict`).

Works are taken from the documents of every seed (at most ``max_docs`` documents per seed),
the ``top_works`` with the most characters in seeds are measured, and they are ranked by
aligned share, then text ROUGE-L. Works whose figures are all the same (the same passage of
the text, aligned the same way) are marked ``same_as`` the first of them.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from rapidfuzz.distance import Levenshtein

from regurgitate.errors import ConfigError
from regurgitate.index.periodic_runs import PeriodicRun, periodic_runs
from regurgitate.index.spans import covered_length, union_regions
from regurgitate.metrics.alignment import aligned_core
from regurgitate.metrics.literal_copy import WindowScorer
from regurgitate.metrics.similarity import edit_similarity, longest_common_substring, rouge_l
from regurgitate.types import Span

#: characters of the text aligned on each side of a seed (and as many of the work's) at
#: first; doubled while the aligned passage reaches into the outer half of a margin
ALIGN_MARGIN_CHARS = 256
#: the widest margin
MAX_ALIGN_MARGIN_CHARS = 16_384
#: seeds aligned per work, longest first
MAX_PASSAGES = 16
#: tokens of the work searched on each side of its longest seed for the best window
WINDOW_MARGIN_TOKENS = 8_000
#: default shortest seed, in tokens of a subword tokenizer: short enough that a copy with
#: every 5th word changed still has exact runs (four words) to align from
DEFAULT_SEED_TOKENS = 4
#: the same for a byte-level index (four words are some 20 bytes)
DEFAULT_SEED_BYTES = 16
#: occurrences read to find a seed in a given work
OCCURRENCE_LIMIT = 10_000


class ClosenessIndex(Protocol):
    @property
    def tokenizer(self) -> Any: ...

    def find_spans(self, texts: list[str], min_tokens: int = 50, max_docs: int = 10, *,
                   window_tokens: int | None = None,
                   windows: bool = True) -> list[list[Span]]: ...

    def occurrences_batch(self, seqs: Sequence[Any], limit: int = 100) -> list[list[Any]]: ...

    def context(self, doc_id: int, token_offset: int, length: int,
                margin: int = 30) -> tuple[str, str, str]: ...

    def doc_name(self, doc_id: int) -> str: ...

    def document_meta(self, doc_id: int) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Passage:
    """One aligned passage: its stretch of the text and the work's, and how alike they are."""

    start: int  # character offsets in the text
    end: int
    tokens: int  # tokens of the text inside it
    matched: tuple[tuple[int, int], ...]  # regions of the text the alignment pairs with
    # identical characters of the work
    edit_similarity: float
    rouge_l: float
    lcs_chars: int


@dataclass(frozen=True)
class WorkCloseness:
    """How close the text is to one corpus document."""

    doc_id: int
    name: str
    title: str | None
    url: str | None
    # -- the whole text
    aligned_chars: int  # characters of the text its aligned passages match identically
    aligned_share: float  # aligned_chars / characters of the text
    passages: int  # aligned passages
    text_rouge_l: float  # ROUGE-L of the text against the work's best same-length window
    text_rouge_l_exact: bool  # False: the best of sampled windows (a lower bound)
    window_words: int  # that window's length in words (the text's, or the whole work)
    verbatim_chars: int  # characters of the text inside verbatim spans found in this work
    verbatim_share: float  # verbatim_chars / characters of the text
    spans: int  # verbatim spans (>= min_tokens) found in this work
    longest_span_tokens: int
    matched_chars: int  # characters inside any seed (>= seed_tokens) found in this work
    # -- the longest aligned passage only, with its length
    passage_tokens: int
    passage_chars: int
    passage_start: int | None  # its character offsets in the text
    passage_end: int | None
    edit_similarity: float | None
    rouge_l: float | None
    lcs_chars: int | None
    near_verbatim: bool  # some passage: edit similarity >= threshold over >= min_tokens
    same_as: str | None = None  # the first work listed with all the same figures


@dataclass(frozen=True)
class ClosenessReport:
    chars: int
    tokens: int
    min_tokens: int
    seed_tokens: int
    spans: tuple[Span, ...]  # exact maximal spans >= min_tokens, by start
    coverage: tuple[tuple[int, int], ...]  # their union, character regions
    covered_chars: int
    works: tuple[WorkCloseness, ...]  # closest first
    candidate_works: int  # works sharing a seed with the text (``works`` are the closest)
    verdict: str
    seconds: float
    #: what ``tokens``, ``min_tokens`` and every span length count: "tokens" or "bytes"
    unit: str = "tokens"

    @property
    def covered_share(self) -> float:
        return self.covered_chars / self.chars if self.chars else 0.0


def _meta_field(meta: dict[str, Any], *keys: str) -> str | None:
    for k in keys:
        v = meta.get(k)
        if isinstance(v, str) and v.strip():
            return v
    return None


def _piece(s: Span) -> tuple[int, int]:
    """The token range whose documents ``s.documents`` lists (the whole span unless
    overlapping matches were merged into it)."""
    if s.piece_start is not None and s.piece_end is not None:
        return s.piece_start, s.piece_end
    return s.token_start, s.token_end


def unit_of(tokenizer: Any) -> str:
    """What an index's lengths count: "bytes" for a byte-level tokenizer, else "tokens"."""
    return "bytes" if getattr(tokenizer, "name", None) == "bytes" else "tokens"


def _one(unit: str) -> str:
    """The unit as a compound's first part: "50-byte span", "50-token span"."""
    return unit[:-1] if unit.endswith("s") else unit


def default_seed_tokens(tokenizer: Any, min_tokens: int) -> int:
    """The shortest seed when none is given: DEFAULT_SEED_BYTES for a byte-level
    tokenizer, DEFAULT_SEED_TOKENS otherwise, at most ``min_tokens``."""
    byte_level = getattr(tokenizer, "name", None) == "bytes"
    return min(DEFAULT_SEED_BYTES if byte_level else DEFAULT_SEED_TOKENS, min_tokens)


def closeness(index: ClosenessIndex, text: str, *, min_tokens: int = 50,
              seed_tokens: int | None = None, max_docs: int = 100, top_works: int = 10,
              threshold: float = 0.9) -> ClosenessReport:
    """The closeness report of ``text`` against ``index`` (see the module docstring)."""
    if min_tokens < 1:
        raise ConfigError("min_tokens must be >= 1")
    seed = default_seed_tokens(index.tokenizer, min_tokens) if seed_tokens is None \
        else seed_tokens
    if not 1 <= seed <= min_tokens:
        raise ConfigError(f"need 1 <= seed_tokens <= min_tokens, got {seed}, {min_tokens}")
    t0 = time.perf_counter()
    raw_ids, raw_offs = index.tokenizer.encode_offsets(text)
    offs = np.asarray(raw_offs, dtype=np.int64).reshape(-1, 2)
    # every span of >= min_tokens also gets its most repeated min_tokens-token window;
    # a local index takes the tokens already made (each text is tokenized once)
    encoded = getattr(index, "find_spans_encoded", None)
    if encoded is not None:
        matches = encoded([(raw_ids, offs)], min_tokens=seed, max_docs=max_docs,
                          window_tokens=min_tokens)[0]
    else:
        matches = index.find_spans([text], min_tokens=seed, max_docs=max_docs,
                                   window_tokens=min_tokens)[0]
    ids = [int(i) for i in raw_ids]
    spans = tuple(s for s in matches if s.tokens >= min_tokens)
    coverage = tuple(union_regions([(s.start, s.end) for s in spans]))
    per_doc: dict[int, list[Span]] = defaultdict(list)
    for s in matches:
        for d in s.documents:
            per_doc[int(d)].append(s)
    n = len(text)

    def rank(doc: int) -> tuple[int, int, int]:
        ss = per_doc[doc]
        return (-covered_length([(s.start, s.end) for s in ss]),
                -covered_length([(s.start, s.end) for s in ss if s.tokens >= min_tokens]), doc)

    chosen = sorted(per_doc, key=rank)[:top_works]
    seeds = {doc: sorted(per_doc[doc], key=lambda s: (-s.tokens, s.start))[:MAX_PASSAGES]
             for doc in chosen}
    located = _locate(index, ids, [s for doc in chosen for s in seeds[doc]])
    scorer = WindowScorer(text)
    works = [_work(index, text, ids, offs, doc, per_doc[doc], seeds[doc], located, scorer,
                   min_tokens, threshold) for doc in chosen]
    works.sort(key=lambda w: (-w.aligned_chars, -w.text_rouge_l, -w.verbatim_chars,
                              w.doc_id))
    covered = covered_length(list(coverage))
    partial = ClosenessReport(
        chars=n, tokens=len(ids), min_tokens=min_tokens, seed_tokens=seed, spans=spans,
        coverage=coverage, covered_chars=covered, works=tuple(_mark_same(works)),
        candidate_works=len(per_doc), verdict="", seconds=0.0, unit=unit_of(index.tokenizer))
    return dataclasses.replace(partial, verdict=verdict(partial),
                               seconds=time.perf_counter() - t0)


def _locate(index: ClosenessIndex, ids: list[int],
            seeds: list[Span]) -> dict[tuple[int, ...], dict[int, int]]:
    """For each distinct seed (by its listed piece's tokens): doc id -> first token offset,
    from one batched search."""
    keys = list(dict.fromkeys(tuple(ids[slice(*_piece(s))]) for s in seeds))
    found = index.occurrences_batch([list(k) for k in keys], limit=OCCURRENCE_LIMIT)
    out: dict[tuple[int, ...], dict[int, int]] = {}
    for key, occs in zip(keys, found, strict=True):
        first: dict[int, int] = {}
        for o in occs:
            first.setdefault(int(o.doc_id), int(o.token_offset))
        out[key] = first
    return out


def _passage(index: ClosenessIndex, text: str, offs: np.ndarray, doc: int, seed: Span,
             offset: int) -> Passage | None:
    """The passage aligned around ``seed`` (its listed piece at ``offset`` in ``doc``): the
    text within a margin of the piece against as many characters on each side of the
    piece's occurrence, cut to the best-scoring stretch. The margin starts at
    ALIGN_MARGIN_CHARS and doubles (up to MAX_ALIGN_MARGIN_CHARS) while the passage reaches
    into the outer half of a side that both the text and the work could extend."""
    p0, p1 = _piece(seed)
    c0, c1 = int(offs[p0, 0]), int(offs[p1 - 1, 1])
    margin = ALIGN_MARGIN_CHARS
    while True:
        w0, w1 = max(0, c0 - margin), min(len(text), c1 + margin)
        # a token decodes to at least one character, or to a part of one (a byte of a
        # multi-byte character): 4 tokens a character reach far enough
        before, match, after = index.context(doc, offset, p1 - p0, margin=4 * margin)
        before = before[len(before) - (c0 - w0):] if c0 > w0 else ""
        after = after[:w1 - c1]
        source = before + match + after
        gs, ge, ss, se = aligned_core(text[w0:w1], source)
        if ge <= gs:
            return None
        grow_left = w0 > 0 and len(before) == c0 - w0 and gs < (c0 - w0) / 2
        grow_right = (w1 < len(text) and len(after) == w1 - c1
                      and (w1 - w0) - ge < (w1 - c1) / 2)
        if not (grow_left or grow_right) or margin >= MAX_ALIGN_MARGIN_CHARS:
            break
        margin *= 2
    gen, src = text[w0 + gs:w0 + ge], source[ss:se]
    at = w0 + gs
    matched = tuple((at + op.src_start, at + op.src_end)
                    for op in Levenshtein.opcodes(gen, src) if op.tag == "equal")
    return Passage(start=w0 + gs, end=w0 + ge, tokens=tokens_inside(offs, w0 + gs, w0 + ge),
                   matched=matched,
                   edit_similarity=edit_similarity(gen, src), rouge_l=rouge_l(gen, src),
                   lcs_chars=longest_common_substring(gen, src))


def tokens_inside(offs: np.ndarray, start: int, end: int) -> int:
    """Tokens with more than half of their characters in ``[start, end)``: a character
    alignment may cut a token at either end, and a token barely touched is not counted."""
    lo = int(np.searchsorted(offs[:, 1], start, side="right"))
    hi = int(np.searchsorted(offs[:, 0], end, side="left"))
    near = offs[lo:hi]
    inside = np.minimum(near[:, 1], end) - np.maximum(near[:, 0], start)
    return int(np.count_nonzero(2 * inside > near[:, 1] - near[:, 0]))


def _work(index: ClosenessIndex, text: str, ids: list[int], offs: np.ndarray, doc: int,
          matches: list[Span], seeds: list[Span],
          located: dict[tuple[int, ...], dict[int, int]], scorer: WindowScorer,
          min_tokens: int, threshold: float) -> WorkCloseness:
    n = len(text)
    verbatim = [s for s in matches if s.tokens >= min_tokens]
    verb_chars = covered_length([(s.start, s.end) for s in verbatim])
    passages: list[Passage] = []
    anchor: tuple[Span, int] | None = None  # the longest seed found in the work
    for seed in seeds:
        offset = located[tuple(ids[slice(*_piece(seed))])].get(doc)
        if offset is None:
            continue
        if anchor is None:
            anchor = (seed, offset)
        if any(p.start <= seed.start and seed.end <= p.end for p in passages):
            continue
        p = _passage(index, text, offs, doc, seed, offset)
        if p is None or any(p.start < q.end and q.start < p.end for q in passages):
            continue  # the same passage, aligned again from another seed
        passages.append(p)
    regions = [r for p in passages for r in p.matched] + [(s.start, s.end) for s in matches]
    aligned = covered_length(regions)
    window = None
    if anchor is not None:
        seed, offset = anchor
        p0, p1 = _piece(seed)
        before, match, after = index.context(
            doc, offset, p1 - p0, margin=max(WINDOW_MARGIN_TOKENS, 2 * len(ids)))
        window = scorer.best(before + match + after)
    main = max(passages, key=lambda p: (p.end - p.start, -p.start), default=None)
    meta = index.document_meta(doc)
    return WorkCloseness(
        doc_id=doc, name=index.doc_name(doc), title=_meta_field(meta, "title", "name"),
        url=_meta_field(meta, "url", "link"),
        aligned_chars=aligned, aligned_share=aligned / n if n else 0.0,
        passages=len(passages),
        text_rouge_l=window.rouge_l if window is not None else 0.0,
        text_rouge_l_exact=window.exact if window is not None else True,
        window_words=window.window_words if window is not None else 0,
        verbatim_chars=verb_chars, verbatim_share=verb_chars / n if n else 0.0,
        spans=len(verbatim), longest_span_tokens=max((s.tokens for s in verbatim), default=0),
        matched_chars=covered_length([(s.start, s.end) for s in matches]),
        passage_tokens=main.tokens if main else 0,
        passage_chars=main.end - main.start if main else 0,
        passage_start=main.start if main else None, passage_end=main.end if main else None,
        edit_similarity=main.edit_similarity if main else None,
        rouge_l=main.rouge_l if main else None, lcs_chars=main.lcs_chars if main else None,
        near_verbatim=any(p.edit_similarity >= threshold and p.tokens >= min_tokens
                          for p in passages),
    )


def _figures(w: WorkCloseness) -> tuple[Any, ...]:
    """Everything a row of the works table shows, the work's name aside."""
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 4)

    return (w.aligned_chars, w.passages, r(w.text_rouge_l), w.text_rouge_l_exact,
            w.verbatim_chars, w.spans, w.longest_span_tokens, w.passage_tokens,
            w.passage_start, w.passage_end, r(w.edit_similarity), r(w.rouge_l), w.lcs_chars,
            w.near_verbatim)


def _mark_same(works: list[WorkCloseness]) -> list[WorkCloseness]:
    """``same_as`` on every work whose figures equal an earlier work's."""
    first: dict[tuple[Any, ...], str] = {}
    out = []
    for w in works:
        key = _figures(w)
        if key in first:
            out.append(dataclasses.replace(w, same_as=first[key]))
        else:
            first[key] = w.name
            out.append(w)
    return out


def same_figures(report: ClosenessReport, work: WorkCloseness) -> int:
    """How many other listed works have all the figures of ``work``."""
    return sum(1 for w in report.works if w.same_as == work.name)


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%" if v >= 0.1 or v == 0 else f"{100 * v:.1f}%"


def verdict(report: ClosenessReport) -> str:
    """One line: the strongest finding about the whole text, in words. A passage's
    similarity is never quoted without that passage's length."""
    m = report.min_tokens
    u, one = report.unit, _one(report.unit)
    if not report.works:
        return (f"No verbatim span of >= {m} {u} and no shared passage of >= "
                f"{report.seed_tokens} {u}: nothing in this text is traceable to the corpus.")
    top = report.works[0]
    label = top.name + (f" ({top.title})" if top.title else "")
    same = same_figures(report, top)
    who = label + (f" and {same} other work{'s' if same > 1 else ''} with the same figures"
                   if same else "")

    def whole(w: WorkCloseness) -> str:
        bound = "" if w.text_rouge_l_exact else ">= "
        return (f"its aligned passages match {_pct(w.aligned_share)} of the text, text "
                f"ROUGE-L {bound}{w.text_rouge_l:.2f}")

    if report.spans:
        share = report.covered_share
        kind = ("Mostly verbatim copy" if share >= 0.5 else
                "Substantial verbatim copying" if share >= 0.1 else "Verbatim passages")
        longest = max(s.tokens for s in report.spans)
        return (f"{kind}: {100 * share:.1f}% of the text lies in {len(report.spans)} verbatim "
                f"span(s) of >= {m} {u} (longest {longest}); closest work {who}: "
                f"{whole(top)}.")
    near = [w for w in report.works if w.near_verbatim]
    if near:
        w = near[0]
        return (f"Near-verbatim copy: a {w.passage_tokens:,}-{one} passage "
                f"({_pct(w.passage_chars / report.chars)} of the text) has edit similarity "
                f"{w.edit_similarity:.2f} to {w.name}; {whole(w)}; no exact span reaches "
                f"{m} {u}.")
    if top.passages == 0:  # its seeds could not be located in it (too common to list)
        what = f"matches of >= {report.seed_tokens} {u}"
    elif top.passages == 1:
        what = f"one {top.passage_tokens:,}-{one} passage"
    else:
        what = f"{top.passages} passages (the longest {top.passage_tokens:,} {u})"
    sim = ("" if top.edit_similarity is None or top.edit_similarity >= 0.995 else
           f" ({'the longest has ' if top.passages > 1 else ''}edit similarity "
           f"{top.edit_similarity:.2f} over its {top.passage_tokens:,} {u})")
    bound = "" if top.text_rouge_l_exact else ">= "
    return (f"Shares {what} with {who}, matching {_pct(top.aligned_share)} of the "
            f"text{sim}; text ROUGE-L {bound}{top.text_rouge_l:.2f}; no span reaches {m} "
            f"{u}.")


def report_to_dict(report: ClosenessReport, index: ClosenessIndex,
                   text: str) -> dict[str, Any]:
    """The report as JSON-ready data (spans keep ``start``, ``end``, ``tokens``, ``count``,
    ``documents`` as corpus ids, ``doc_ids`` as internal ids, ``sources`` as names)."""
    names: dict[int, str] = {}

    def name(d: int) -> str:
        if d not in names:
            names[d] = index.doc_name(d)
        return names[d]

    single, runs = periodic_runs(report.spans, text)
    return {
        "chars": report.chars, "tokens": report.tokens, "min_tokens": report.min_tokens,
        "unit": report.unit,
        "seed_tokens": report.seed_tokens,
        "seconds": round(report.seconds, 4),
        "span_count": len(report.spans),
        "spans": [span_to_dict(s, text, name) for s in single],
        "runs": [run_to_dict(r, text, name) for r in runs],
        "coverage": [{"start": a, "end": b} for a, b in report.coverage],
        "covered_chars": report.covered_chars,
        "covered_share": report.covered_share,
        "works": [dict(w.__dict__) for w in report.works],
        "candidate_works": report.candidate_works,
        "verdict": report.verdict,
    }


def run_to_dict(r: PeriodicRun, text: str, name: Any) -> dict[str, Any]:
    """One periodic run as JSON (:class:`regurgitate.index.periodic_runs.PeriodicRun`): ``spans``
    maximal spans, one every ``period_chars`` characters (``period_tokens`` tokens) from
    ``start`` to ``end``; each has the text ``unit`` repeated to ``span_chars`` characters
    (``span_tokens`` tokens), which occurs exactly ``count`` times in the corpus, in
    ``documents``. ``span``: the first of them, as a span (its ``text`` left out: it is
    ``unit`` repeated)."""
    first = span_to_dict(r.span, text, name)
    del first["text"]
    return {"start": r.start, "end": r.end, "token_start": r.token_start,
            "token_end": r.token_end, "unit": r.unit(text), "period_chars": r.period_chars,
            "period_tokens": r.period_tokens, "spans": r.spans,
            "span_chars": r.span.end - r.span.start, "span_tokens": r.span.tokens,
            "count": r.span.count, "documents": first["documents"],
            "doc_ids": first["doc_ids"], "sources": first["sources"], "span": first}


def span_to_dict(s: Span, text: str, name: Any) -> dict[str, Any]:
    """One exact span as JSON: its text occurs exactly ``count`` times in the corpus.
    ``window``: its most repeated window (``offset`` in tokens from the span's start,
    ``tokens``, ``count``, ``start``/``end`` characters, ``text``, ``documents`` as corpus
    ids, ``doc_ids``, ``sources``), or None (see :class:`regurgitate.types.SpanWindow`)."""
    docs = [int(d) for d in s.documents]
    win: dict[str, Any] | None = None
    if s.window is not None:
        wdocs = [int(d) for d in s.window.documents]
        w0, w1 = s.window.start, s.window.end
        win = {"offset": s.window.offset, "tokens": s.window.tokens, "count": s.window.count,
               "start": w0, "end": w1,
               "text": text[w0:w1] if w0 is not None and w1 is not None else "",
               "documents": [name(d) for d in wdocs], "doc_ids": wdocs,
               "sources": [name(d) for d in wdocs]}
    return {"start": s.start, "end": s.end, "token_start": s.token_start,
            "token_end": s.token_end, "tokens": s.tokens, "count": s.count,
            "documents": [name(d) for d in docs], "doc_ids": docs,
            "sources": [name(d) for d in docs], "text": text[s.start:s.end], "window": win}
