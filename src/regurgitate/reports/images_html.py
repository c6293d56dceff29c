"""The self-contained HTML report of an image run: every image inline as a ``data:`` URI,
all text escaped by Jinja2's autoescape, and a Content-Security-Policy that loads nothing."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from regurgitate.errors import RegurgitateError
from regurgitate.images.index import ImageIndex
from regurgitate.reports.html import _env
from regurgitate.reports.images_data import ImageRunSummary, summarize_images
from regurgitate.store.runstore import RunStore

MAX_EXTRACTED = 60
MAX_CLIQUE_IMAGES = 24


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _thumbs(index_path: str | None) -> dict[str, bytes]:
    """Training-image thumbnails by id, from the run's index when it is still on disk."""
    if not index_path or not Path(index_path).exists():
        return {}
    try:
        index = ImageIndex(Path(index_path))
    except RegurgitateError:
        return {}
    return dict(zip(index.ids, index.thumbnails, strict=True))


def _figures(s: ImageRunSummary) -> list[tuple[str, str]]:
    def pct(a: int, b: int) -> str:
        return f"{100 * a / b:.1f}% ({a})" if b else "–"

    rows = [("Generated images (ok / failed)", f"{s.generations} / {s.failed}"),
            ("Images per second (generation)", f"{s.images_per_second:.1f}"),
            ("Extracted copies", pct(s.extracted, s.measured)),
            ("Unique training images extracted", str(s.unique_extracted)),
            ("Held-out images matched", str(s.heldout_matched)),
            ("Prompts with a clique / members", f"{s.clique_prompts} / {s.clique_members}")]
    if s.sscd_measured:
        rows.append(("Copy-detection similar (> 0.5 / > 0.75)",
                     f"{s.sscd_loose} / {s.sscd_strict} of {s.sscd_measured}"))
    return rows


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
    spec = store.spec()
    # the text report's environment: autoescape plus visible markers for control and bidi
    # characters in captions and ids
    return _env().get_template("images.html.j2").render(
        title=title or str(store.path), target=spec.target if spec else "",
        index_path=s.index.get("path", ""), threshold=s.threshold, figures=_figures(s),
        by_dup=s.by_dup, extracted=extracted, extracted_total=len(extracted_ids),
        extracted_more=len(extracted_ids) > len(extracted), cliques=cliques,
        clique_k=s.clique_k, captions=s.captions, px=64)
