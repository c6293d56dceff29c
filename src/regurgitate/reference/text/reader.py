"""Read the compressed reference corpus (``corpus.jsonl.zst``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from regurgitate.errors import CorpusError
from regurgitate.types import Document


def iter_corpus_file(path: Path) -> Iterator[Document]:
    """Documents of a ``corpus.jsonl.zst`` file, with source/id/line (1-based) in ``meta``."""
    import io

    import zstandard

    try:
        fh = path.open("rb")
    except OSError as exc:
        raise CorpusError(f"cannot open: {exc}", path=str(path)) from exc
    with fh, zstandard.ZstdDecompressor().stream_reader(fh) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8")
        for n, line in enumerate(text, start=1):
            try:
                rec = json.loads(line)
                yield Document(text=rec["text"],
                               meta={"source": "reference", "id": rec["id"], "line": n})
            except (ValueError, KeyError, TypeError) as exc:
                raise CorpusError(f"bad record: {exc}", path=str(path), line=n) from exc


def read_corpus_texts(path: Path) -> list[str]:
    return [d.text for d in iter_corpus_file(path)]
