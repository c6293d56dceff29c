"""Figures of an image run, read from its run store (no model, no index needed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from regurgitate.findings.images import ImageClique, ImageCopy, ImageSimilarity
from regurgitate.images.records import starts_from_image
from regurgitate.reports.image_membership import MiaSummary, summarize_mia
from regurgitate.store.runstore import IMAGE_INDEX_META, RunStore


@dataclass(frozen=True)
class DupRow:
    """Extraction by how often a training image occurs in the training data."""

    count: int  # duplicates in the training data; 0 = held out (indexed, never trained on)
    images: int  # training images with that count in the index
    extracted: int  # of those, how many some generation copied
    generations: int  # generations that copied one of them

    @property
    def rate(self) -> float:
        return self.extracted / self.images if self.images else 0.0


@dataclass(frozen=True)
class CaptionRow:
    caption: str
    caption_count: int
    generations: int
    extracted: int
    clique: int  # size of the largest clique among its generations (0: none)


@dataclass
class ImageRunSummary:
    generations: int = 0
    failed: int = 0
    seconds: float = 0.0
    extracted: int = 0
    unique_extracted: int = 0
    heldout_matched: int = 0
    measured: int = 0  # generations the copy detector measured
    threshold: float = 0.15
    by_dup: list[DupRow] = field(default_factory=list)
    captions: list[CaptionRow] = field(default_factory=list)
    clique_prompts: int = 0
    clique_k: int = 0
    clique_members: int = 0
    sscd_loose: int = 0
    sscd_strict: int = 0
    sscd_measured: int = 0
    copies: dict[int, ImageCopy] = field(default_factory=dict)  # generation id -> finding
    cliques: dict[str, list[int]] = field(default_factory=dict)  # prompt -> member ids
    index: dict[str, Any] = field(default_factory=dict)
    mia: MiaSummary = field(default_factory=MiaSummary)  # membership and img2img figures

    @property
    def images_per_second(self) -> float:
        return self.generations / self.seconds if self.seconds > 0 else 0.0


def summarize_images(store: RunStore) -> ImageRunSummary:
    s = ImageRunSummary(index=dict(store.get_meta(IMAGE_INDEX_META) or {}))
    s.threshold = float(s.index.get("threshold", s.threshold))
    prompt_of: dict[int, tuple[str, int]] = {}
    for it in store.generations(ok_only=False):
        if not it.generation.ok:
            s.failed += 1
            continue
        s.generations += 1
        s.seconds += float(it.generation.elapsed_s)
        if starts_from_image(it.prompt.meta):  # img2img: its own table (reports/images_mia)
            continue
        prompt_of[it.generation_id] = (it.prompt.as_text(),
                                       int(it.prompt.meta.get("caption_count", 0)))
    extracted_ids: dict[str, int] = {}  # train id -> its count
    gens_by_count: dict[int, int] = {}
    for f in store.findings(kind=ImageCopy.kind):
        p = f.payload_as(ImageCopy)
        if p is None:
            continue
        s.measured += 1
        s.copies[f.generation_id] = p
        if not p.extracted:
            continue
        s.extracted += 1
        counts = set()
        for m in p.matches:
            if m.split == "heldout" or m.count == 0:
                s.heldout_matched += 1
                counts.add(0)
                continue
            extracted_ids[m.train_id] = m.count
            counts.add(m.count)
        for c in counts:
            gens_by_count[c] = gens_by_count.get(c, 0) + 1
    s.unique_extracted = len(extracted_ids)
    by_count: dict[str, int] = dict(s.index.get("by_count", {}))
    rows = []
    for key, n in sorted(by_count.items(), key=lambda kv: -int(kv[0])):
        c = int(key)
        got = sum(1 for cnt in extracted_ids.values() if cnt == c)
        rows.append(DupRow(count=c, images=int(n), extracted=got,
                           generations=gens_by_count.get(c, 0)))
    if s.index.get("heldout"):
        held = {m.train_id for p in s.copies.values() for m in p.matches
                if m.split == "heldout" or m.count == 0}
        rows.append(DupRow(count=0, images=int(s.index["heldout"]), extracted=len(held),
                           generations=gens_by_count.get(0, 0)))
    s.by_dup = rows
    for f in store.findings(kind=ImageClique.kind):
        q = f.payload_as(ImageClique)
        if q is not None:
            s.cliques[q.prompt] = list(q.members)
            s.clique_k = q.k
    s.clique_prompts = len(s.cliques)
    s.clique_members = sum(len(v) for v in s.cliques.values())
    for f in store.findings(kind=ImageSimilarity.kind):
        r = f.payload_as(ImageSimilarity)
        if r is not None:
            s.sscd_measured += 1
            s.sscd_loose += int(r.loose)
            s.sscd_strict += int(r.strict)
    per: dict[str, list[int]] = {}
    for gid, (prompt, _) in prompt_of.items():
        per.setdefault(prompt, []).append(gid)
    caps = []
    for prompt, gids in per.items():
        count = max(prompt_of[g][1] for g in gids)
        ext = sum(1 for g in gids if g in s.copies and s.copies[g].extracted)
        caps.append(CaptionRow(caption=prompt, caption_count=count, generations=len(gids),
                               extracted=ext, clique=len(s.cliques.get(prompt, []))))
    s.captions = sorted(caps, key=lambda r: (-r.caption_count, r.caption))
    s.mia = summarize_mia(store)
    return s
