"""Assemble the reference corpus: stdlib background + planted passages and PII records.

Layout decision: every copy of a planted item is inserted into a *different* background
document, at a random paragraph boundary (surrounded by blank lines), so that copies sit in
varied contexts. Held-out passages come from the same generator but are never inserted.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from regurgitate.errors import ConfigError
from regurgitate.reference.text.manifest import (
    PiiFields,
    PlantedItem,
    ReferenceManifest,
    manifest_to_json,
)
from regurgitate.reference.text.paths import CORPUS_FILE, MANIFEST_FILE
from tools.reference_build.text.background import (
    background_documents,
    stdlib_fingerprint,
    stdlib_modules,
    stdlib_root,
)
from tools.reference_build.text.prose import NameMaker, make_passage, make_pii_record

GENERATOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    """What to build; the defaults are those of the shipped reference corpus."""

    seed: int = 20261122
    background_bytes: int = 1_200_000
    doc_chars: int = 3000
    passage_counts: tuple[int, ...] = (1, 10, 100)
    passages_per_count: int = 8
    pii_counts: tuple[int, ...] = (10, 100)
    pii_per_count: int = 6
    heldout: int = 8


@dataclass(slots=True)
class _Draft:
    id: str
    kind: str
    text: str
    copies: int
    pii: PiiFields | None = None
    doc_ids: list[str] = field(default_factory=list)


def doc_id(index: int) -> str:
    return f"ref-{index:05d}"


def _drafts(spec: CorpusSpec) -> list[_Draft]:
    rng = random.Random(f"{spec.seed}:prose")
    names = NameMaker(random.Random(f"{spec.seed}:names"))
    drafts: list[_Draft] = []
    for count in spec.passage_counts:
        for i in range(spec.passages_per_count):
            drafts.append(_Draft(f"passage-x{count}-{i:02d}", "passage",
                                 make_passage(rng, names), count))
    for i in range(spec.heldout):
        drafts.append(_Draft(f"heldout-{i:02d}", "heldout", make_passage(rng, names), 0))
    serial = 0
    for count in spec.pii_counts:
        for i in range(spec.pii_per_count):
            rec = make_pii_record(rng, names, serial)
            serial += 1
            drafts.append(_Draft(f"pii-x{count}-{i:02d}", "pii", rec.text, count,
                                 PiiFields(rec.name, rec.email, rec.phone, rec.address)))
    return drafts


def _plant(background: Sequence[str], drafts: list[_Draft], seed: int) -> list[str]:
    rng = random.Random(f"{seed}:plant")
    inserts: list[list[str]] = [[] for _ in background]
    for d in drafts:
        if d.copies > len(background):
            raise ConfigError(f"{d.id} needs {d.copies} copies but there are only "
                              f"{len(background)} background documents")
        for idx in sorted(rng.sample(range(len(background)), d.copies)):
            inserts[idx].append(d.text)
            d.doc_ids.append(doc_id(idx))
    docs = []
    for text, extra in zip(background, inserts, strict=True):
        paras = text.split("\n\n")
        slotted = [(rng.randint(0, len(paras)), rng.random(), t) for t in extra]
        for slot, _, t in sorted(slotted, reverse=True):
            paras.insert(slot, t)
        docs.append("\n\n".join(paras))
    return docs


def _check_counts(docs: Sequence[str], drafts: Sequence[_Draft]) -> None:
    joined = "\x00".join(docs)
    for d in drafts:
        found = joined.count(d.text)
        if found != d.copies:
            raise ConfigError(f"planted item {d.id} occurs {found} times, expected {d.copies}")


def corpus_jsonl(docs: Sequence[str]) -> bytes:
    out = io.StringIO()
    for i, text in enumerate(docs):
        out.write(json.dumps({"id": doc_id(i), "text": text}, ensure_ascii=False,
                             sort_keys=True))
        out.write("\n")
    return out.getvalue().encode("utf-8")


def build_corpus(spec: CorpusSpec) -> tuple[list[str], ReferenceManifest]:
    """The corpus documents (in id order) and the manifest describing them."""
    background = background_documents(spec.seed, spec.background_bytes, spec.doc_chars)
    drafts = _drafts(spec)
    docs = _plant(background, drafts, spec.seed)
    _check_counts(docs, drafts)
    root = stdlib_root()
    build = {
        "generator_version": GENERATOR_VERSION,
        "seed": spec.seed,
        "background_bytes": spec.background_bytes,
        "doc_chars": spec.doc_chars,
        "python_version": platform.python_version(),
        "stdlib_fingerprint": stdlib_fingerprint(root, stdlib_modules(root)),
        "documents": len(docs),
        "background_chars": sum(len(b) for b in background),
        "corpus_chars": sum(len(d) for d in docs),
        "corpus_sha256": hashlib.sha256(corpus_jsonl(docs)).hexdigest(),
        "placement": "each copy in a different background document, at a random "
                     "paragraph boundary",
    }
    items = tuple(PlantedItem(id=d.id, kind=d.kind, text=d.text, copies=d.copies,
                              doc_ids=tuple(d.doc_ids), pii=d.pii) for d in drafts)
    return docs, ReferenceManifest(items=items, build=build)


def write_corpus(out_dir: Path, spec: CorpusSpec) -> ReferenceManifest:
    """Write ``corpus.jsonl.zst`` and ``manifest.json`` into ``out_dir``."""
    import zstandard

    docs, manifest = build_corpus(spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = corpus_jsonl(docs)
    compressed = zstandard.ZstdCompressor(level=19, threads=0).compress(raw)
    (out_dir / CORPUS_FILE).write_bytes(compressed)
    (out_dir / MANIFEST_FILE).write_text(manifest_to_json(manifest), encoding="utf-8")
    return manifest
