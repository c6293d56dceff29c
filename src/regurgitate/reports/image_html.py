"""The self-contained HTML report of an image run: every image inline as a ``data:`` URI,
all text escaped by Jinja2's autoescape, and a Content-Security-Policy that loads nothing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regurgitate.errors import RegurgitateError, StoreError
from regurgitate.index.open import open_image_index
from regurgitate.reports.image_data import ImageRunSummary, summarize_images
from regurgitate.reports.polish import index_rows, timestamp
from regurgitate.reports.text_data import META_KEYS
from regurgitate.reports.text_html import _env
from regurgitate.store.runstore import RunStore
from regurgitate.types import RunSpec
from regurgitate.version import __version__

#: the text report's policy without scripts: nothing loads, images only as data: URIs
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'none'")
MAX_EXTRACTED = 60
MAX_CLIQUE_IMAGES = 24


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _thumbs(index_path: str | None) -> dict[str, bytes]:
    """Training-image thumbnails by id, from the run's index when it is still on disk."""
    if not index_path or not Path(index_path).exists():
        return {}
    try:
        index = open_image_index(index_path)
    except RegurgitateError:
        return {}
    return dict(zip(index.ids, index.thumbnails, strict=True))


def _cards(s: ImageRunSummary) -> list[dict[str, Any]]:
    """The key figures as the text report's cards (``hot`` where memorization shows)."""
    def pct(a: int, b: int) -> str:
        return f"{100 * a / b:.1f}%" if b else "–"

    cards = [
        {"value": pct(s.extracted, s.measured), "hot": bool(s.extracted),
         "label": f"generations extracted: a copy of a training image ({s.extracted:,} of "
                  f"{s.measured:,})"},
        {"value": f"{s.unique_extracted:,}", "hot": bool(s.unique_extracted),
         "label": "unique training images extracted"},
        {"value": f"{s.clique_prompts:,} / {s.clique_members:,}", "hot": bool(s.clique_prompts),
         "label": "prompts with a clique / clique members"},
        {"value": f"{s.heldout_matched:,}", "hot": False,
         "label": "held-out images matched (should be 0)"},
        {"value": f"{s.generations:,}", "hot": False,
         "label": f"generated images ({s.images_per_second:.1f} per second)"},
    ]
    if s.failed:
        cards.append({"value": f"{s.failed:,}", "hot": False, "label": "failed generations"})
    if s.sscd_measured:
        cards.append({"value": f"{s.sscd_loose:,} / {s.sscd_strict:,}", "hot": bool(s.sscd_loose),
                      "label": f"copy-detection similar (> 0.5 / > 0.75) of {s.sscd_measured:,}"})
    return cards


def _header(store: RunStore) -> tuple[RunSpec, dict[str, Any], dict[str, Any] | None]:
    """What the shared run header shows: the spec, dates and status, the index description."""
    spec = store.spec()
    if spec is None:
        raise StoreError("the run database holds no run yet: nothing to report",
                         hint="start one with `regurgitate scan`")
    stats = store.stats()
    extra: dict[str, Any] = {"created_at": stats.created_at, "updated_at": stats.updated_at}
    for key in META_KEYS:
        value = store.get_meta(key)
        if value is not None:
            extra[key] = value
    info = store.get_meta("index_info")
    return spec, extra, info if isinstance(info, dict) else None


def render_image_html(store: RunStore, summary: ImageRunSummary | None = None,
                      title: str = "") -> str:
    s = summary or summarize_images(store)
    thumbs = _thumbs(s.index.get("path"))
    items = {it.generation_id: it for it in store.generations()}
    extracted_ids = sorted((gid for gid, p in s.copies.items() if p.extracted),
                           key=lambda g: (s.copies[g].distance, g))
    extracted: list[dict[str, Any]] = []
    for gid in extracted_ids[:MAX_EXTRACTED]:
        it = items.get(gid)
        if it is None or not it.generation.image:
            continue
        p = s.copies[gid]
        near = [{"id": n.train_id, "caption": n.caption, "distance": n.distance,
                 "whole": n.whole_distance, "phash": n.phash_bits, "count": n.count,
                 "heldout": n.split == "heldout", "within": n.distance <= p.threshold,
                 "src": data_uri(thumbs[n.train_id]) if n.train_id in thumbs else None}
                for n in (p.nearest or p.matches)]
        extracted.append({"gid": gid, "src": data_uri(bytes(it.generation.image)),
                          "caption": it.prompt.as_text(), "seed": it.prompt.settings.seed,
                          "near": near})
    cliques = []
    for prompt, members in sorted(s.cliques.items(), key=lambda kv: -len(kv[1])):
        imgs = [data_uri(bytes(items[g].generation.image or b""))
                for g in members[:MAX_CLIQUE_IMAGES] if g in items]
        of = sum(1 for it in items.values() if it.prompt.as_text() == prompt)
        cliques.append({"prompt": prompt, "size": len(members), "of": of, "images": imgs})
    spec, extra, index_info = _header(store)
    # the text report's environment, header and styles: autoescape plus visible markers for
    # control and bidi characters in captions and ids
    from regurgitate.reports.finding_kinds import finding_kinds, with_kinds_section

    return with_kinds_section(_env().get_template("images.html.j2").render(
        title=title or str(store.path), spec=spec, extra=extra,
        index_label="Training-image index", index_rows=index_rows(index_info),
        version=__version__, generated=timestamp(datetime.now(UTC)), csp=CSP,
        generations=s.generations, threshold=s.threshold, cards=_cards(s),
        by_dup=s.by_dup, extracted=extracted, extracted_total=len(extracted_ids),
        extracted_more=len(extracted_ids) > len(extracted), cliques=cliques,
        clique_k=s.clique_k, captions=s.captions, px=64, mia=s.mia),
        finding_kinds(store.generations(ok_only=False), store.findings()))
