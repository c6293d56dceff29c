"""Same-source member and non-member documents of the reference corpus, without a rebuild.

The corpus's background documents are stdlib docstrings packed, module by module in a seeded
shuffled order, until a byte budget is reached (:mod:`tools.reference_build.text.background`).
The modules *after* the one that reached the budget never went into the corpus: their
docstrings are the same kind of text the model was trained on, never trained on -- an
i.i.d. non-member pool like MIMIR's. :func:`build_heldout_background` replays the shuffle and
keeps going; the result ships as ``data/heldout_background.json.gz`` so that reading it does
not depend on the user's Python. Members are the corpus's background documents with the
planted items taken out (each background document occurs once in the corpus).
"""

from __future__ import annotations

import gzip
import json
import platform
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regurgitate.errors import CorpusError
from tools.reference_build.text.background import (
    _chunks,
    module_docstrings,
    stdlib_fingerprint,
    stdlib_modules,
    stdlib_root,
)

HELDOUT_FILE = "heldout_background.json.gz"
FORMAT = "regurgitate-heldout-background/1"


@dataclass(frozen=True, slots=True)
class HeldoutDocument:
    id: str
    module: str
    text: str


def build_heldout_background(seed: int, budget_bytes: int, doc_chars: int, count: int,
                             root: Path | None = None, *, exhaust: bool = False
                             ) -> tuple[list[HeldoutDocument], dict[str, Any]]:
    """The first ``count`` docstring documents beyond the corpus's budget (same chunking),
    and a record of how they were made; ``exhaust`` takes all there are when fewer."""
    root = root or stdlib_root()
    files = stdlib_modules(root)
    random.Random(seed).shuffle(files)
    total = 0
    cut = len(files)
    for i, path in enumerate(files):  # replays background_documents up to its break
        for chunk in _chunks(module_docstrings(path, root), doc_chars):
            total += len(chunk.encode("utf-8"))
        if total >= budget_bytes:
            cut = i + 1
            break
    docs: list[HeldoutDocument] = []
    for path in files[cut:]:
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        for chunk in _chunks(module_docstrings(path, root), doc_chars):
            docs.append(HeldoutDocument(f"heldout-bg-{len(docs):04d}", module, chunk))
        if len(docs) >= count:
            break
    if len(docs) < count and not exhaust:
        raise CorpusError(f"only {len(docs)} docstring documents beyond the budget",
                          path=str(root))
    meta = {
        "format": FORMAT,
        "seed": seed, "background_bytes": budget_bytes, "doc_chars": doc_chars,
        "python_version": platform.python_version(),
        "stdlib_fingerprint": stdlib_fingerprint(root, stdlib_modules(root)),
        "modules_in_corpus": cut, "modules_total": len(files),
        "how": "modules after the one that reached the corpus's byte budget, in the same "
               "seeded shuffled order, chunked the same way",
    }
    return docs[:count], meta


def write_heldout(path: Path, docs: list[HeldoutDocument], meta: dict[str, Any]) -> None:
    rows = [{"id": d.id, "module": d.module, "text": d.text} for d in docs]
    body = json.dumps({"meta": meta, "documents": rows}, ensure_ascii=False, sort_keys=True,
                      indent=0).encode("utf-8")
    path.write_bytes(gzip.compress(body, compresslevel=9, mtime=0))


def read_heldout(path: Path) -> tuple[list[HeldoutDocument], dict[str, Any]]:
    try:
        raw = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise CorpusError(f"cannot read the held-out background set: {exc}",
                          path=str(path)) from exc
    if not isinstance(raw, dict) or raw.get("meta", {}).get("format") != FORMAT:
        raise CorpusError("not a held-out background file", path=str(path))
    docs = [HeldoutDocument(str(r["id"]), str(r["module"]), str(r["text"]))
            for r in raw["documents"]]
    return docs, dict(raw["meta"])


def heldout_background() -> list[HeldoutDocument]:
    """The shipped held-out (never trained on) background documents."""
    from regurgitate.reference.text.paths import data_dir

    return read_heldout(data_dir() / HELDOUT_FILE)[0]


def member_background() -> list[HeldoutDocument]:
    """The corpus's background documents with every planted item taken out: text the model
    was trained on, once (ids are the corpus's document ids)."""
    from regurgitate.reference import corpus_path, manifest_path
    from regurgitate.reference.text.manifest import read_manifest
    from regurgitate.reference.text.reader import iter_corpus_file

    planted = {it.text for it in read_manifest(manifest_path()).items if it.copies > 0}
    out = []
    for doc in iter_corpus_file(corpus_path()):
        paras = [p for p in doc.text.split("\n\n") if p not in planted]
        title = paras[0].split("\n", 1)[0] if paras else ""
        out.append(HeldoutDocument(str(doc.meta["id"]), title, "\n\n".join(paras)))
    return out
