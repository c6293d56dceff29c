"""Plain text corpora: a single file, or a directory of text files (one document each)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from regurgitate.corpus.records import Sink
from regurgitate.errors import CorpusError
from regurgitate.types import Document

SKIP_HINT = "pass --on-error skip to leave out files that are not UTF-8 text"
EXTRACT_HINT = ("extract the text first (e.g. pdftotext FILE.pdf FILE.txt, or pandoc FILE "
                "-t plain -o FILE.txt) and index the text")
#: the first bytes of files whose text must be extracted first
_EXTRACT_MAGIC = ((b"%PDF-", "a PDF file"), (b"PK\x03\x04", "a zip archive (an Office file?)"),
                  (b"\xd0\xcf\x11\xe0", "an old Office file"), (b"{\\rtf", "an RTF file"))


def _hint(sink: Sink, hint: str | None) -> str | None:
    """A hint for a bad file: never "pass --on-error skip" when it was passed."""
    return hint if sink.on_error == "stop" else None


def read_text_file(path: Path, source: str, rel: str, sink: Sink) -> Document | None:
    """One document: the file's text (``.gz``/``.zst`` decompressed); a file that is not
    UTF-8 text is one bad record with one message."""
    from regurgitate.corpus.jsonl import open_binary

    try:
        with open_binary(path) as fh:
            data = fh.read()
    except OSError as exc:
        raise CorpusError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc
    except Exception as exc:  # corrupt compression (zlib, zstandard, EOF)
        sink.bad(CorpusError(f"cannot decompress: {exc}", path=str(path),
                             hint=_hint(sink, SKIP_HINT)))
        return None
    for magic, kind in _EXTRACT_MAGIC:
        if data.startswith(magic):
            sink.bad(CorpusError(f"{kind}, not text", path=str(path), hint=EXTRACT_HINT))
            return None
    try:
        text = data.decode("utf-8")
        if "\x00" in text[:8192]:
            raise UnicodeDecodeError("utf-8", data, text.index("\x00"),
                                     text.index("\x00") + 1, "NUL byte")
    except UnicodeDecodeError as exc:
        kind = "a binary file" if b"\x00" in data[:8192] else "not UTF-8 text"
        sink.bad(CorpusError(f"{kind} (invalid UTF-8 at byte {exc.start})", path=str(path),
                             hint=_hint(sink, SKIP_HINT)))
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
