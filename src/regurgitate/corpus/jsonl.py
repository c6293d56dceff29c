"""JSON lines corpora (optionally gzip- or zstd-compressed): one record per line."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import zstandard

from regurgitate.corpus.records import Sink, name_record, scalar_fields, text_of
from regurgitate.errors import CorpusError
from regurgitate.types import Document


def open_binary(path: Path) -> IO[bytes]:
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    raw = path.open("rb")
    if name.endswith(".zst"):
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader)  # type: ignore[arg-type]
    return raw


def read_jsonl(path: Path, source: str, text_field: str, sink: Sink) -> Iterator[Document]:
    with open_binary(path) as fh:
        for lineno, raw in numbered_lines(fh, source):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                sink.bad(CorpusError(
                    f"invalid UTF-8 at byte {exc.start} of the line", path=source, line=lineno,
                ))
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                hint = None
                if lineno == 1 and line.lstrip().startswith("["):
                    hint = "this looks like a JSON array; write one JSON object per line"
                sink.bad(CorpusError(
                    f"invalid JSON: {exc.msg.removesuffix(' at')} (column {exc.colno})",
                    path=source, line=lineno, hint=hint,
                ))
                continue
            text = text_of(record, text_field, source, lineno, sink)
            if text is None:
                continue
            meta: dict[str, Any] = {"source": source, "line": lineno}
            if not name_record(meta, record, f"{source}:{lineno}", lineno, "line", sink):
                continue
            fields = scalar_fields(record, text_field)
            if fields:
                meta["fields"] = fields
            yield Document(text, meta)


def numbered_lines(fh: IO[bytes], source: str) -> Iterator[tuple[int, bytes]]:
    """Lines of a (possibly compressed) file; corrupt compression is a file-level error."""
    lineno = 0
    while True:
        try:
            raw = fh.readline()
        except (OSError, EOFError, zlib.error, zstandard.ZstdError) as exc:
            raise CorpusError(
                f"cannot decompress after line {lineno}: {exc}", path=source,
                hint="the file is truncated or corrupt",
            ) from exc
        if not raw:
            return
        lineno += 1
        yield lineno, raw
