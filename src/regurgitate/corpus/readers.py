"""Reading reference corpora into :class:`~regurgitate.types.Document` records.

One entry point, :func:`read_corpus`, takes any mix of paths and picks a reader by path:

=============================================  ==========================================
path                                           read as
=============================================  ==========================================
``*.jsonl``, ``*.json`` (+ ``.gz`` / ``.zst``)  JSON lines, one record per line
``*.parquet``                                  Parquet rows
``*.pdf``, Office and e-book files             refused: "extract the text first"
any other file (+ ``.gz`` / ``.zst``)          one document (the whole file) when its
                                               content is UTF-8 text; a binary file or
                                               another encoding is a bad file
directory with ``state.json`` or               a ``datasets`` dataset saved with
``dataset_dict.json``                          ``save_to_disk`` (read with pyarrow only)
any other directory                            every file under it by the rules above
                                               (the same rule as for a file given
                                               alone), recursive, sorted, hidden entries
                                               skipped
=============================================  ==========================================

``Document.meta`` always holds ``"source"`` (the path as given) and where in it the document
sits: ``"line"`` (JSON lines, 1-based), ``"row"`` (Parquet and datasets, 1-based, with
``"split"`` for datasets), or ``"path"`` (text directories, relative to the directory).
Records from JSON lines, Parquet and datasets carry their other short scalar fields in
``meta["fields"]``. ``meta["id"]`` names every document by the corpus's own id: the record's
``id_field`` (default: its ``id`` field when it has one), else its position (``path:line``,
``path:row``, ``path:split:row``); a text file's id is its path (the directory as given
joined with the file's path inside it). Fields chosen with ``meta_fields`` (e.g. url,
title) are copied into ``meta`` under their own names.

Bad records (invalid JSON, missing or non-string text field, invalid UTF-8) raise
:class:`~regurgitate.errors.CorpusError` with path and line, or are skipped and handed to
``on_skip`` when ``on_error="skip"``. File-level problems (missing path, unknown format,
corrupt compression, a Parquet file without the text column) always raise, except that a
file inside a directory that is not text (binary, another encoding, a PDF) is a bad record:
one message for that file, skipped with ``on_error="skip"``.
Empty (whitespace-only) documents are skipped silently (``keep_empty=True`` yields them);
:class:`ReadStats` counts them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from regurgitate.corpus.arrow import read_dataset, read_dataset_dict, read_parquet
from regurgitate.corpus.jsonl import read_jsonl
from regurgitate.corpus.records import (
    MAX_FIELD_CHARS,
    RESERVED_META,
    FieldChoice,
    OnError,
    ReadStats,
    Sink,
)
from regurgitate.corpus.textfiles import EXTRACT_HINT, iter_text_files, read_text_file
from regurgitate.errors import ConfigError, CorpusError
from regurgitate.types import Document

__all__ = ["MAX_FIELD_CHARS", "OnError", "ReadStats", "detect_format", "iter_text_files",
           "read_corpus"]

_JSONL_SUFFIXES = (".jsonl", ".json")
_COMPRESSIONS = ("", ".gz", ".zst")
_FORMATS_HINT = (
    "supported: .jsonl/.json (optionally .gz or .zst), .parquet, UTF-8 text files (any "
    "name, optionally .gz or .zst), a directory of them, or a directory written by datasets' "
    "save_to_disk"
)
#: documents whose text must be extracted first (their bytes are no text)
EXTRACT_FIRST = {".pdf": "PDF", ".doc": "Word", ".docx": "Word", ".odt": "OpenDocument",
                 ".rtf": "RTF", ".epub": "EPUB", ".xls": "Excel", ".xlsx": "Excel",
                 ".ods": "OpenDocument", ".ppt": "PowerPoint", ".pptx": "PowerPoint",
                 ".odp": "OpenDocument"}



def read_corpus(
    paths: Sequence[str | Path] | str | Path,
    *,
    text_field: str = "text",
    on_error: OnError = "stop",
    on_skip: Callable[[CorpusError], None] | None = None,
    stats: ReadStats | None = None,
    id_field: str | None = None,
    meta_fields: Sequence[str] = (),
    keep_empty: bool = False,
) -> Iterator[Document]:
    """The documents of every path, in order (see the module docstring for formats).

    Every path is checked (exists, known format) before this returns, so a typo fails at
    once rather than after hours of reading; records are read lazily while iterating.
    ``stats``, when given, is updated while iterating (files, documents, empty, skipped).
    ``id_field`` names the record field holding each document's id (a record without it
    is a bad record); ``meta_fields`` are copied into ``Document.meta`` under their names.
    ``keep_empty`` yields records whose text is empty or whitespace too (still counted as
    ``empty``), for writers that must keep every record (dedup).
    """
    if on_error not in ("stop", "skip"):
        raise CorpusError(f"on_error must be 'stop' or 'skip', not {on_error!r}")
    reserved = sorted(set(meta_fields) & RESERVED_META)
    if reserved:
        raise ConfigError(f"metadata field {reserved[0]!r} is a name regurgitate sets itself",
                          hint=f"reserved: {', '.join(sorted(RESERVED_META))}")
    if isinstance(paths, str | Path):
        paths = [paths]
    paths = list(paths)
    for given in paths:
        _check_path(given)
    choice = FieldChoice(id_field or None, tuple(dict.fromkeys(m for m in meta_fields if m)))
    sink = Sink(on_error, on_skip, stats if stats is not None else ReadStats(), choice)
    return _iter_corpus(paths, text_field, sink, keep_empty)


def _check_path(given: str | Path) -> str:
    path = Path(given)
    if not path.exists():
        raise CorpusError(
            "no such file or directory", path=str(given),
            hint="check the path; " + _FORMATS_HINT,
        )
    return detect_format(path)


def _iter_corpus(paths: list[str | Path], text_field: str, sink: Sink,
                 keep_empty: bool = False) -> Iterator[Document]:
    stats = sink.stats
    for given in paths:
        for doc in _read_one(given, text_field, sink):
            if not doc.text.strip():
                stats.empty += 1
                if keep_empty:
                    yield doc
                continue
            stats.documents += 1
            yield doc


def detect_format(path: Path) -> str:
    """The reader name for a path: jsonl, parquet, text, textdir, dataset or datasetdict."""
    if path.is_dir():
        if (path / "dataset_dict.json").is_file():
            return "datasetdict"
        if (path / "state.json").is_file():
            return "dataset"
        return "textdir"
    return file_format(path)


def file_format(path: Path) -> str:
    """One rule for a file, given alone or found in a directory: by extension (JSON lines
    and Parquet; PDF and Office files refused with "extract the text first"), else text,
    whose content is checked when it is read (UTF-8, no NUL bytes); ``.gz``/``.zst`` are
    decompressed."""
    name = path.name.lower()
    if any(name.endswith(s + c) for s in _JSONL_SUFFIXES for c in _COMPRESSIONS):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    inner = name.removesuffix(".gz").removesuffix(".zst")
    kind = EXTRACT_FIRST.get(Path(inner).suffix)
    if kind is not None:
        raise CorpusError(f"a {kind} file, not text", path=str(path), hint=EXTRACT_HINT)
    return "text"


def _read_one(given: str | Path, text_field: str, sink: Sink) -> Iterator[Document]:
    source = str(given)
    path = Path(given)
    fmt = _check_path(given)
    if fmt == "jsonl":
        sink.stats.files += 1
        yield from read_jsonl(path, source, text_field, sink)
    elif fmt == "parquet":
        sink.stats.files += 1
        yield from read_parquet(path, source, text_field, sink)
    elif fmt == "text":
        sink.stats.files += 1
        doc = read_text_file(path, source, source, sink)
        if doc is not None:
            yield doc
    elif fmt == "textdir":
        yield from _read_dir(path, source, text_field, sink)
    elif fmt == "dataset":
        yield from read_dataset(path, source, None, text_field, sink)
    else:
        yield from read_dataset_dict(path, source, text_field, sink)


def _read_dir(root: Path, source: str, text_field: str, sink: Sink) -> Iterator[Document]:
    """Every file under ``root`` by :func:`file_format`, the rule for a file given alone; a
    file it cannot read is one bad record (skipped with ``on_error="skip"``)."""
    for file in iter_text_files(root):
        sink.stats.files += 1
        rel = file.relative_to(root).as_posix()
        try:
            fmt = file_format(file)
        except CorpusError as exc:
            sink.bad(exc)
            continue
        if fmt == "jsonl":
            yield from read_jsonl(file, str(Path(source) / rel), text_field, sink)
        elif fmt == "parquet":
            yield from read_parquet(file, str(Path(source) / rel), text_field, sink)
        else:
            doc = read_text_file(file, source, rel, sink)
            if doc is not None:
                yield doc
