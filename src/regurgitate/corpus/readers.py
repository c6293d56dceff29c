"""Reading reference corpora into :class:`~regurgitate.types.Document` records.

One entry point, :func:`read_corpus`, takes any mix of paths and picks a reader by path:

=============================================  ==========================================
path                                           read as
=============================================  ==========================================
``*.jsonl``, ``*.json`` (+ ``.gz`` / ``.zst``)  JSON lines, one record per line
``*.parquet``                                  Parquet rows
``*.txt``, ``*.md``                            one document (the whole file)
directory with ``state.json`` or               a ``datasets`` dataset saved with
``dataset_dict.json``                          ``save_to_disk`` (read with pyarrow only)
any other directory                            text files, one document per file,
                                               recursive, sorted, hidden entries skipped
=============================================  ==========================================

``Document.meta`` always holds ``"source"`` (the path as given) and where in it the document
sits: ``"line"`` (JSON lines, 1-based), ``"row"`` (Parquet and datasets, 0-based, with
``"split"`` for datasets), or ``"path"`` (text directories, relative to the directory).
Records from JSON lines, Parquet and datasets carry their other short scalar fields in
``meta["fields"]``.

Bad records (invalid JSON, missing or non-string text field, invalid UTF-8) raise
:class:`~regurgitate.errors.CorpusError` with path and line, or are skipped and handed to
``on_skip`` when ``on_error="skip"``. File-level problems (missing path, unknown format,
corrupt compression, a Parquet file without the text column) always raise.
Empty (whitespace-only) documents are skipped silently; :class:`ReadStats` counts them.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import zstandard

from regurgitate.errors import CorpusError
from regurgitate.types import Document
from regurgitate.untrusted import storable

OnError = Literal["stop", "skip"]

#: string fields longer than this are not copied into ``meta["fields"]``
MAX_FIELD_CHARS = 200

_JSONL_SUFFIXES = (".jsonl", ".json")
_COMPRESSIONS = ("", ".gz", ".zst")
_SINGLE_TEXT_SUFFIXES = (".txt", ".md")
_FORMATS_HINT = (
    "supported: .jsonl/.json (optionally .gz or .zst), .parquet, .txt/.md, a directory of "
    "text files, or a directory written by datasets' save_to_disk"
)


@dataclass
class ReadStats:
    """Counts of what :func:`read_corpus` did; pass one in and read it after iterating."""

    files: int = 0
    documents: int = 0
    empty: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    #: how many error messages to keep in ``errors`` (the counts stay exact)
    max_errors: int = 20

    def note_skip(self, err: CorpusError) -> None:
        self.skipped += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(str(err))


class _Sink:
    """Applies the stop/skip policy to one bad record."""

    def __init__(
        self, on_error: OnError, on_skip: Callable[[CorpusError], None] | None, stats: ReadStats
    ) -> None:
        self.on_error = on_error
        self.on_skip = on_skip
        self.stats = stats

    def bad(self, err: CorpusError) -> None:
        if self.on_error == "stop":
            raise err
        self.stats.note_skip(err)
        if self.on_skip is not None:
            self.on_skip(err)


def read_corpus(
    paths: Sequence[str | Path] | str | Path,
    *,
    text_field: str = "text",
    on_error: OnError = "stop",
    on_skip: Callable[[CorpusError], None] | None = None,
    stats: ReadStats | None = None,
) -> Iterator[Document]:
    """The documents of every path, in order (see the module docstring for formats).

    Every path is checked (exists, known format) before this returns, so a typo fails at
    once rather than after hours of reading; records are read lazily while iterating.
    ``stats``, when given, is updated while iterating (files, documents, empty, skipped).
    """
    if on_error not in ("stop", "skip"):
        raise CorpusError(f"on_error must be 'stop' or 'skip', not {on_error!r}")
    if isinstance(paths, str | Path):
        paths = [paths]
    paths = list(paths)
    for given in paths:
        _check_path(given)
    sink = _Sink(on_error, on_skip, stats if stats is not None else ReadStats())
    return _iter_corpus(paths, text_field, sink)


def _check_path(given: str | Path) -> str:
    path = Path(given)
    if not path.exists():
        raise CorpusError(
            "no such file or directory", path=str(given),
            hint="check the path; " + _FORMATS_HINT,
        )
    return detect_format(path)


def _iter_corpus(paths: list[str | Path], text_field: str, sink: _Sink) -> Iterator[Document]:
    stats = sink.stats
    for given in paths:
        for doc in _read_one(given, text_field, sink):
            if not doc.text.strip():
                stats.empty += 1
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
    name = path.name.lower()
    if any(name.endswith(s + c) for s in _JSONL_SUFFIXES for c in _COMPRESSIONS):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(_SINGLE_TEXT_SUFFIXES):
        return "text"
    raise CorpusError("unknown corpus format", path=str(path), hint=_FORMATS_HINT)


def _read_one(given: str | Path, text_field: str, sink: _Sink) -> Iterator[Document]:
    source = str(given)
    path = Path(given)
    fmt = _check_path(given)
    if fmt == "jsonl":
        sink.stats.files += 1
        yield from _read_jsonl(path, source, text_field, sink)
    elif fmt == "parquet":
        sink.stats.files += 1
        yield from _read_parquet(path, source, text_field, sink)
    elif fmt == "text":
        sink.stats.files += 1
        doc = _read_text_file(path, source, source, sink)
        if doc is not None:
            yield doc
    elif fmt == "textdir":
        yield from _read_text_dir(path, source, sink)
    elif fmt == "dataset":
        yield from _read_dataset(path, source, None, text_field, sink)
    else:
        yield from _read_dataset_dict(path, source, text_field, sink)


# ---------------------------------------------------------------------------------- records


def _scalar_fields(record: dict[str, Any], text_field: str) -> dict[str, Any]:
    """The record's other short scalar fields, for ``meta["fields"]``."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == text_field:
            continue
        if isinstance(value, str):
            if len(value) <= MAX_FIELD_CHARS:
                out[key] = value
        elif value is None or isinstance(value, bool | int | float):
            out[key] = value
    return out


def _text_of(record: Any, text_field: str, source: str, where: int, sink: _Sink) -> str | None:
    """The text field of a record, or None after reporting a bad record."""
    if not isinstance(record, dict):
        sink.bad(CorpusError(
            f"record is a JSON {type(record).__name__}, not an object", path=source, line=where,
        ))
        return None
    if text_field not in record:
        fields = ", ".join(sorted(map(str, record))[:10]) or "none"
        sink.bad(CorpusError(
            f"record has no field {text_field!r}", path=source, line=where,
            hint=f"fields present: {fields}; choose one with --text-field",
        ))
        return None
    text = record[text_field]
    if not isinstance(text, str):
        sink.bad(CorpusError(
            f"field {text_field!r} is {type(text).__name__}, not a string",
            path=source, line=where,
        ))
        return None
    return storable(text)[0]  # a "\ud800" escape decodes to what UTF-8 cannot hold: U+FFFD


# ------------------------------------------------------------------------------ JSON lines


def _open_binary(path: Path) -> IO[bytes]:
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    raw = path.open("rb")
    if name.endswith(".zst"):
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader)  # type: ignore[arg-type]
    return raw


def _read_jsonl(path: Path, source: str, text_field: str, sink: _Sink) -> Iterator[Document]:
    with _open_binary(path) as fh:
        for lineno, raw in _numbered_lines(fh, source):
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
            text = _text_of(record, text_field, source, lineno, sink)
            if text is None:
                continue
            meta: dict[str, Any] = {"source": source, "line": lineno}
            fields = _scalar_fields(record, text_field)
            if fields:
                meta["fields"] = fields
            yield Document(text, meta)


def _numbered_lines(fh: IO[bytes], source: str) -> Iterator[tuple[int, bytes]]:
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


# --------------------------------------------------------------------------------- Parquet


def _read_parquet(path: Path, source: str, text_field: str, sink: _Sink) -> Iterator[Document]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise CorpusError(f"not a readable Parquet file: {exc}", path=source) from exc
    names = pf.schema_arrow.names
    if text_field not in names:
        raise CorpusError(
            f"no column {text_field!r}", path=source,
            hint=f"columns: {', '.join(names[:10])}; choose one with --text-field",
        )
    yield from _records_from_batches(
        pf.iter_batches(batch_size=1024), source, None, text_field, sink
    )


def _records_from_batches(
    batches: Iterable[Any], source: str, split: str | None, text_field: str, sink: _Sink,
    position: list[int] | None = None,
) -> Iterator[Document]:
    """Documents of Arrow record batches; ``position[0]`` is the running row number."""
    pos = position if position is not None else [0]
    for batch in batches:
        for record in batch.to_pylist():
            row = pos[0]
            pos[0] += 1
            text = _text_of(record, text_field, source, row, sink)
            if text is None:
                continue
            meta: dict[str, Any] = {"source": source}
            if split is not None:
                meta["split"] = split
            meta["row"] = row
            fields = _scalar_fields(record, text_field)
            if fields:
                meta["fields"] = fields
            yield Document(text, meta)


# ------------------------------------------------------------------------------ text files


def _read_text_file(path: Path, source: str, rel: str, sink: _Sink) -> Document | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        sink.bad(CorpusError(f"invalid UTF-8 at byte {exc.start}", path=str(path)))
        return None
    return Document(text, {"source": source, "path": rel})


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


def _read_text_dir(root: Path, source: str, sink: _Sink) -> Iterator[Document]:
    for file in iter_text_files(root):
        sink.stats.files += 1
        doc = _read_text_file(file, source, file.relative_to(root).as_posix(), sink)
        if doc is not None:
            yield doc


# ------------------------------------------------------------------ datasets' save_to_disk


def _load_json(path: Path, source: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorpusError(f"cannot read {path.name}: {exc}", path=source) from exc


def _read_dataset(
    root: Path, source: str, split: str | None, text_field: str, sink: _Sink
) -> Iterator[Document]:
    import pyarrow as pa

    state = _load_json(root / "state.json", source)
    if split is None:
        split = state.get("_split") if isinstance(state, dict) else None
    files = state.get("_data_files") if isinstance(state, dict) else None
    if not isinstance(files, list) or not files:
        raise CorpusError("state.json lists no data files", path=str(root / "state.json"))
    position = [0]
    for entry in files:
        arrow = root / str(entry.get("filename", "")) if isinstance(entry, dict) else None
        if arrow is None or not arrow.is_file():
            raise CorpusError(
                "a data file listed in state.json is missing", path=str(arrow or root),
                hint="the dataset directory is incomplete; save it again",
            )
        sink.stats.files += 1
        try:
            with arrow.open("rb") as fh:
                reader = pa.ipc.open_stream(fh)
                if text_field not in reader.schema.names:
                    raise CorpusError(
                        f"no column {text_field!r}", path=str(arrow),
                        hint=f"columns: {', '.join(reader.schema.names[:10])}; "
                        "choose one with --text-field",
                    )
                yield from _records_from_batches(
                    reader, source, split, text_field, sink, position
                )
        except pa.ArrowException as exc:
            raise CorpusError(f"cannot read Arrow data: {exc}", path=str(arrow)) from exc


def _read_dataset_dict(
    root: Path, source: str, text_field: str, sink: _Sink
) -> Iterator[Document]:
    info = _load_json(root / "dataset_dict.json", source)
    splits = info.get("splits") if isinstance(info, dict) else None
    if not isinstance(splits, list):
        raise CorpusError("dataset_dict.json lists no splits", path=source)
    for split in splits:
        sub = root / str(split)
        if not (sub / "state.json").is_file():
            raise CorpusError(
                f"split {split!r} is missing", path=source,
                hint="the dataset directory is incomplete; save it again",
            )
        yield from _read_dataset(sub, source, str(split), text_field, sink)
