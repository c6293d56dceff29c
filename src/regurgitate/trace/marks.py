"""What the page marks on a traced answer, beside ``check``'s own data: the spans ranked,
near-verbatim passages, PII and the membership signals of a model's answer."""

from __future__ import annotations

from typing import Any

from regurgitate.types import Generation, Item


def ranked(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The highlights of an answer, longest first, then rarest (fewest corpus occurrences),
    then by position: each span (``kind`` "span", ``index`` into ``data["spans"]``) and each
    periodic run (``kind`` "run", ``index`` into ``data["runs"]``; its tokens are one of its
    spans' and its count theirs)."""
    items = [{"kind": "span", "index": i, "start": s["start"], "end": s["end"],
              "tokens": s["tokens"], "count": s["count"], "token_start": s["token_start"],
              "token_end": s["token_end"]} for i, s in enumerate(data["spans"])]
    items += [{"kind": "run", "index": i, "start": r["start"], "end": r["end"],
               "tokens": r["span_tokens"], "count": r["count"],
               "token_start": r["span"]["token_start"], "token_end": r["span"]["token_end"]}
              for i, r in enumerate(data["runs"])]
    items.sort(key=lambda x: (-x["tokens"], x["count"], x["start"]))
    for rank, item in enumerate(items, 1):
        item["rank"] = rank
    return items


def near_passages(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The near-verbatim passages among ``check``'s works: each work marked
    ``near_verbatim`` gives its longest aligned passage; works with the same passage are
    listed together (``works``), the best edit similarity first."""
    by_region: dict[tuple[int, int], dict[str, Any]] = {}
    for w in data["works"]:
        if not w.get("near_verbatim") or w.get("passage_start") is None:
            continue
        key = (w["passage_start"], w["passage_end"])
        entry = by_region.setdefault(key, {
            "start": key[0], "end": key[1], "tokens": w["passage_tokens"],
            "edit_similarity": w["edit_similarity"], "works": []})
        entry["works"].append(w["name"])
        entry["edit_similarity"] = max(entry["edit_similarity"], w["edit_similarity"])
    return sorted(by_region.values(), key=lambda e: (e["start"], e["end"]))


def pii_marks(index: Any, item: Item, coverage: list[dict[str, int]],
              max_docs: int) -> list[dict[str, Any]]:
    """The ``pii`` detector's findings for the answer, each with whether it lies inside a
    verbatim span (``in_span``) and whether the corpus holds it (``leaked``)."""
    from regurgitate.detectors.base import NO_PRIOR
    from regurgitate.detectors.pii import PIIDetector
    from regurgitate.findings import PIIHit

    out = []
    for f in PIIDetector(index, max_docs=max_docs, use_verbatim=False).detect([item], NO_PRIOR):
        hit = f.payload_as(PIIHit)
        if hit is None or f.start is None or f.end is None:
            continue
        inside = any(c["start"] <= f.start and f.end <= c["end"] for c in coverage)
        out.append({"start": f.start, "end": f.end, "type": hit.type, "value": hit.value,
                    "leaked": bool(hit.leaked), "count": hit.corpus_count, "in_span": inside,
                    "sources": list(hit.sources[:max_docs])})
    return out


def membership(generation: Generation) -> dict[str, float | None] | None:
    """The membership signals of one model answer from the log-probabilities its target
    returned (None for a pasted text or a target that gives none)."""
    if not generation.logprobs or not generation.token_ids:
        return None
    from regurgitate.metrics.membership_signals import signals
    from regurgitate.runtimes.scoring import TokenScores

    scores = TokenScores(tuple(generation.token_ids), tuple(generation.logprobs),
                         generation.dist_mean, generation.dist_var)
    return signals(generation.text, scores)
