"""How close is a text to the works of a corpus, and to which work?

:func:`closeness` answers, for any text (a model's output, a book) against a corpus index:

* the exact maximal spans of >= ``min_tokens`` tokens that occur in the corpus (each with its
  own corpus count and documents) and their union (``coverage``);
* per source work (corpus document): the share of the text's characters inside verbatim
  spans found in that work, the longest such span, and the near-verbatim similarity of the
  best-aligned passage: starting from the work's longest exact match (>= ``seed_tokens``),
  the text window and the work's passage around it are aligned and cut to their best-scoring
  stretch (:func:`regurgitate.detectors.near_verbatim.aligned_core`), then measured by
  normalized edit similarity, ROUGE-L (words) and the longest common substring (characters);
* a one-line verdict (:func:`verdict`).

Works are taken from the documents of every match of >= ``seed_tokens`` tokens (at most
``max_docs`` documents per match), ranked by verbatim share, then by matched characters.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

from regurgitate.detectors.near_verbatim import aligned_core
from regurgitate.detectors.similarity import edit_similarity, longest_common_substring, rouge_l
from regurgitate.errors import ConfigError
from regurgitate.index.spans import covered_length, union_regions
from regurgitate.types import Span

#: characters of context aligned on each side of the best match of a work
ALIGN_MARGIN_CHARS = 2_000


class ClosenessIndex(Protocol):
    @property
    def tokenizer(self) -> Any: ...

    def find_spans(self, texts: list[str], min_tokens: int = 50, max_docs: int = 10, *,
                   window_tokens: int | None = None,
                   windows: bool = True) -> list[list[Span]]: ...

    def occurrences(self, ids: Any, limit: int = 100) -> list[Any]: ...

    def context(self, doc_id: int, token_offset: int, length: int,
                margin: int = 30) -> tuple[str, str, str]: ...

    def doc_name(self, doc_id: int) -> str: ...

    def document_meta(self, doc_id: int) -> dict[str, Any]: ...


@dataclass(frozen=True)
class WorkCloseness:
    """How close the text is to one corpus document."""

    doc_id: int
    name: str
    title: str | None
    url: str | None
    verbatim_chars: int  # characters of the text inside verbatim spans found in this work
    verbatim_share: float  # verbatim_chars / characters of the text
    spans: int  # verbatim spans (>= min_tokens) found in this work
    longest_span_tokens: int
    matched_chars: int  # characters inside any match (>= seed_tokens) found in this work
    edit_similarity: float | None  # of the best-aligned passage
    rouge_l: float | None
    lcs_chars: int | None
    passage_chars: int  # length of the aligned passage on the text's side
    passage_start: int | None  # its character offsets in the text
    passage_end: int | None
    near_verbatim: bool


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
    verdict: str
    seconds: float

    @property
    def covered_share(self) -> float:
        return self.covered_chars / self.chars if self.chars else 0.0


def _meta_field(meta: dict[str, Any], *keys: str) -> str | None:
    for k in keys:
        v = meta.get(k)
        if isinstance(v, str) and v.strip():
            return v
    return None


def closeness(index: ClosenessIndex, text: str, *, min_tokens: int = 50,
              seed_tokens: int | None = None, max_docs: int = 100, top_works: int = 10,
              threshold: float = 0.9) -> ClosenessReport:
    """The closeness report of ``text`` against ``index`` (see the module docstring)."""
    if min_tokens < 1:
        raise ConfigError("min_tokens must be >= 1")
    seed = min(16, min_tokens) if seed_tokens is None else seed_tokens
    if not 1 <= seed <= min_tokens:
        raise ConfigError(f"need 1 <= seed_tokens <= min_tokens, got {seed}, {min_tokens}")
    t0 = time.perf_counter()
    ids, offs = index.tokenizer.encode_offsets(text)
    # every span of >= min_tokens also gets its most repeated min_tokens-token window
    matches = index.find_spans([text], min_tokens=seed, max_docs=max_docs,
                               window_tokens=min_tokens)[0]
    spans = tuple(s for s in matches if s.tokens >= min_tokens)
    coverage = tuple(union_regions([(s.start, s.end) for s in spans]))
    per_doc: dict[int, list[Span]] = defaultdict(list)
    for s in matches:
        for d in s.documents:
            per_doc[int(d)].append(s)
    n = len(text)

    def rank(doc: int) -> tuple[int, int, int]:
        ss = per_doc[doc]
        verb = covered_length([(s.start, s.end) for s in ss if s.tokens >= min_tokens])
        return (-verb, -covered_length([(s.start, s.end) for s in ss]), doc)

    works = []
    for doc in sorted(per_doc, key=rank)[:top_works]:
        works.append(_work(index, text, ids, doc, per_doc[doc], min_tokens, threshold, n))
    works.sort(key=lambda w: (-w.verbatim_chars, -(w.edit_similarity or 0) * w.passage_chars,
                              w.doc_id))
    covered = covered_length(list(coverage))
    partial = ClosenessReport(
        chars=n, tokens=len(ids), min_tokens=min_tokens, seed_tokens=seed, spans=spans,
        coverage=coverage, covered_chars=covered, works=tuple(works), verdict="",
        seconds=0.0)
    return ClosenessReport(**{**partial.__dict__, "verdict": verdict(partial),
                              "seconds": time.perf_counter() - t0})


def _work(index: ClosenessIndex, text: str, ids: Any, doc: int, matches: list[Span],
          min_tokens: int, threshold: float, n: int) -> WorkCloseness:
    verbatim = [s for s in matches if s.tokens >= min_tokens]
    verb_chars = covered_length([(s.start, s.end) for s in verbatim])
    best = max(matches, key=lambda s: (s.tokens, -s.start))
    occ = next((o for o in index.occurrences(ids[best.token_start:best.token_end], limit=10_000)
                if int(o.doc_id) == doc), None)
    sim = rl = lcs = None
    p_start = p_end = None
    p_chars = 0
    tokens_in_passage = 0
    if occ is not None:
        tok = index.tokenizer
        # every token holds at least a byte and a character at most 4: this many tokens on
        # each side decode to at least ALIGN_MARGIN_CHARS characters (or reach the document's
        # end), without decoding the whole document
        before, match, after = index.context(doc, int(occ.token_offset), best.tokens,
                                             margin=4 * ALIGN_MARGIN_CHARS)
        before, after = before[-ALIGN_MARGIN_CHARS:], after[:ALIGN_MARGIN_CHARS]
        w0 = max(0, best.start - ALIGN_MARGIN_CHARS)
        w1 = min(n, best.end + ALIGN_MARGIN_CHARS)
        gs, ge, ss, se = aligned_core(text[w0:w1], before + match + after)
        if ge > gs:
            gen, src = text[w0 + gs:w0 + ge], (before + match + after)[ss:se]
            sim = edit_similarity(gen, src)
            rl = rouge_l(gen, src)
            lcs = longest_common_substring(gen, src)
            p_start, p_end, p_chars = w0 + gs, w0 + ge, ge - gs
            tokens_in_passage = len(tok.encode(gen))
    meta = index.document_meta(doc)
    return WorkCloseness(
        doc_id=doc, name=index.doc_name(doc), title=_meta_field(meta, "title", "name"),
        url=_meta_field(meta, "url", "link"), verbatim_chars=verb_chars,
        verbatim_share=verb_chars / n if n else 0.0, spans=len(verbatim),
        longest_span_tokens=max((s.tokens for s in verbatim), default=0),
        matched_chars=covered_length([(s.start, s.end) for s in matches]),
        edit_similarity=sim, rouge_l=rl, lcs_chars=lcs, passage_chars=p_chars,
        passage_start=p_start, passage_end=p_end,
        near_verbatim=sim is not None and sim >= threshold and tokens_in_passage >= min_tokens,
    )


def verdict(report: ClosenessReport) -> str:
    """One line: the strongest finding about the text, in words."""
    if not report.works:
        return (f"No verbatim span of >= {report.min_tokens} tokens and no match of >= "
                f"{report.seed_tokens} tokens: nothing in this text is traceable to the corpus.")
    top = report.works[0]
    label = top.name + (f" ({top.title})" if top.title else "")
    if report.spans:
        share = report.covered_share
        kind = ("Mostly verbatim copy" if share >= 0.5 else
                "Substantial verbatim copying" if share >= 0.1 else "Verbatim passages")
        others = len([w for w in report.works if w.spans]) - 1
        more = f" and {others} other work(s)" if others > 0 else ""
        return (f"{kind}: {100 * share:.1f}% of the text lies in {len(report.spans)} verbatim "
                f"span(s) of >= {report.min_tokens} tokens; closest work {label} "
                f"({100 * top.verbatim_share:.1f}% of the text, longest span "
                f"{top.longest_span_tokens} tokens){more}.")
    near = [w for w in report.works if w.near_verbatim]
    if near:
        w = near[0]
        return (f"Near-verbatim copy: a {w.passage_chars:,}-character passage has edit "
                f"similarity {w.edit_similarity:.2f} to {w.name}; no exact span of >= "
                f"{report.min_tokens} tokens.")
    sim = f"{top.edit_similarity:.2f}" if top.edit_similarity is not None else "–"
    return (f"No verbatim span of >= {report.min_tokens} tokens; only short matches (closest "
            f"work {label}, best passage edit similarity {sim}).")


def report_to_dict(report: ClosenessReport, index: ClosenessIndex,
                   text: str) -> dict[str, Any]:
    """The report as JSON-ready data (spans keep ``start``, ``end``, ``tokens``, ``count``,
    ``documents`` as corpus ids, ``doc_ids`` as internal ids, ``sources`` as names)."""
    names: dict[int, str] = {}

    def name(d: int) -> str:
        if d not in names:
            names[d] = index.doc_name(d)
        return names[d]

    return {
        "chars": report.chars, "tokens": report.tokens, "min_tokens": report.min_tokens,
        "seconds": round(report.seconds, 4),
        "spans": [span_to_dict(s, text, name) for s in report.spans],
        "coverage": [{"start": a, "end": b} for a, b in report.coverage],
        "covered_chars": report.covered_chars,
        "covered_share": report.covered_share,
        "works": [dict(w.__dict__) for w in report.works],
        "verdict": report.verdict,
    }


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
