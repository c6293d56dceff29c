"""Plain text corpora: a single file, or a directory of text files (one document each)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from regurgitate.corpus.records import Sink
from regurgitate.errors import CorpusError
from regurgitate.types import Document

SKIP_HINT = "pass --on-error skip to leave out files that are not UTF-8 text"


def read_text_file(path: Path, source: str, rel: str, sink: Sink) -> Document | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        kind = "a binary file" if b"\x00" in data[:8192] else "not UTF-8 text"
        sink.bad(CorpusError(f"{kind} (invalid UTF-8 at byte {exc.start})", path=str(path),
                             hint=SKIP_HINT))
        return None
    name = source if rel == source else str(Path(source) / rel)
    return Document(text, {"source": source, "path": rel, "id": name})


def iter_text_files(root: Path) -> Iterator[Path]:
    """Non-hidden regular files under ``root``, recursively, in sorted order.
    Symbolic links to files are followed; links to directories are not (no cycles)."""
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if entry.is_symlink():
                continue
            yield from iter_text_files(entry)
        elif entry.is_file():
            yield entry


def read_text_dir(root: Path, source: str, sink: Sink) -> Iterator[Document]:
    for file in iter_text_files(root):
        sink.stats.files += 1
        doc = read_text_file(file, source, file.relative_to(root).as_posix(), sink)
        if doc is not None:
            yield doc
