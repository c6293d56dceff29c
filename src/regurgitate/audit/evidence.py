"""Evidence for every extracted window: the work's id, the suffix's character offsets, the
text, what the model produced, p (or hits/n) and, with a corpus index, whether the window
occurs in the training corpus (count and source documents).

A work with extracted windows none of which the index holds is flagged ``not_in_index``: the
model reproduces text the index does not contain, so it saw the text from elsewhere (another
copy, another corpus) or the index is not the training corpus.
"""

from __future__ import annotations

from typing import Any

from regurgitate.audit.figures import WorkFigures

#: sources named per window
MAX_SOURCES = 10


def _corpus(index: Any, text: str) -> dict[str, Any]:
    ids = index.tokenizer.encode(text)
    count = int(index.count(ids)) if len(ids) else 0
    sources: list[str] = []
    if count and hasattr(index, "documents_batch"):
        docs = index.documents_batch([ids], max_docs=MAX_SOURCES)[0]
        sources = [str(index.doc_name(int(d))) for d in docs]
    return {"count": count, "sources": sources}


def window_evidence(fig: WorkFigures, index: Any | None) -> list[dict[str, Any]]:
    """One record per extracted window (at the work's threshold, or greedy-exact)."""
    text = fig.work.text
    out: list[dict[str, Any]] = []
    for w in fig.windows:
        if not (w.extracted(fig.threshold) or w.greedy):
            continue
        rec: dict[str, Any] = {"work_id": fig.work.id, "window": w.window, "start": w.start,
                               "end": w.end, "text": text[w.start:w.end], "p": w.p}
        if w.hits is not None:
            rec.update(hits=w.hits, n=w.n)
        if w.greedy is not None:
            rec["greedy"] = w.greedy
        # what the model produced: a stored output, else the suffix itself (exact p is the
        # probability of emitting exactly this text; greedy-exact means greedy emits it)
        rec["generated"] = w.generated if w.generated is not None else text[w.start:w.end]
        if index is not None:
            window_text = text[max(0, w.prefix_start):w.end]
            rec["corpus"] = {"window": _corpus(index, window_text),
                             "suffix": _corpus(index, text[w.start:w.end])}
        out.append(rec)
    return out


def attach_evidence(figs: list[WorkFigures], index: Any | None) -> None:
    """Fill each work's ``evidence`` and, with an index, its ``not_in_index`` flag."""
    for fig in figs:
        fig.evidence = window_evidence(fig, index)
        if index is not None and fig.evidence:
            in_corpus = sum(1 for e in fig.evidence if e["corpus"]["window"]["count"] > 0
                            or e["corpus"]["suffix"]["count"] > 0)
            fig.extra["corpus"] = {"extracted_windows": len(fig.evidence),
                                   "in_corpus": in_corpus, "not_in_index": in_corpus == 0}
