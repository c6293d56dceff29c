"""Build the held-out background set of the reference corpus (not part of the wheel): replay
the corpus build's seeded shuffle of stdlib modules past the byte budget and chunk the modules
that never went into the corpus the same way. The package reads the shipped result with
:mod:`regurgitate.reference.text.heldout_background`."""

from __future__ import annotations

import gzip
import json
import platform
import random
from pathlib import Path
from typing import Any

from regurgitate.errors import CorpusError
from regurgitate.reference.text.heldout_background import FORMAT, HeldoutDocument
from tools.reference_build.text.background import (
    _chunks,
    module_docstrings,
    stdlib_fingerprint,
    stdlib_modules,
    stdlib_root,
)


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
