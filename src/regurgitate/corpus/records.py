"""What every corpus reader shares: the stop/skip policy for bad records, read counts,
and turning one record (a dict) into its text and metadata fields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from regurgitate.errors import CorpusError
from regurgitate.untrusted import storable

OnError = Literal["stop", "skip"]

#: string fields longer than this are not copied into ``meta["fields"]``
MAX_FIELD_CHARS = 200


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


#: metadata keys the readers set themselves; --meta-fields may not name them
RESERVED_META = frozenset({"source", "line", "row", "split", "path", "id", "fields"})
#: chosen metadata strings are cut to this many characters
MAX_META_CHARS = 1000


@dataclass(frozen=True)
class FieldChoice:
    """How documents are named: ``id_field`` (None: ``id`` when a record has it, else the
    position, ``path:line`` / ``path:row``) and the ``meta_fields`` kept per document."""

    id_field: str | None = None
    meta_fields: tuple[str, ...] = ()


class Sink:
    """Applies the stop/skip policy to one bad record; carries the naming choice."""

    def __init__(
        self, on_error: OnError, on_skip: Callable[[CorpusError], None] | None, stats: ReadStats,
        choice: FieldChoice | None = None,
    ) -> None:
        self.on_error = on_error
        self.on_skip = on_skip
        self.stats = stats
        self.choice = choice or FieldChoice()

    def bad(self, err: CorpusError) -> None:
        if self.on_error == "stop":
            raise err
        self.stats.note_skip(err)
        if self.on_skip is not None:
            self.on_skip(err)


def scalar_fields(record: dict[str, Any], text_field: str) -> dict[str, Any]:
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


def name_record(meta: dict[str, Any], record: dict[str, Any], position_id: str,
                where: int, unit: str, sink: Sink) -> bool:
    """Set ``meta["id"]`` and the chosen metadata fields of a record; False (after
    reporting a bad record) when a required id field is missing or empty."""
    choice = sink.choice
    field = choice.id_field
    value = record.get(field if field is not None else "id")
    if field is not None and (value is None or value == ""):
        sink.bad(record_error(f"record has no id field {field!r}", str(meta["source"]),
                              where, unit, hint="choose the id field with --id-field"))
        return False
    meta["id"] = str(value) if isinstance(value, str | int) and value != "" else position_id
    for name in choice.meta_fields:
        if name in record and record[name] is not None:
            val = record[name]
            if isinstance(val, str):
                val = val[:MAX_META_CHARS]
            elif not isinstance(val, bool | int | float):
                val = str(val)[:MAX_META_CHARS]
            meta[name] = val
    return True


def record_error(message: str, source: str, where: int, unit: str = "line",
                 hint: str | None = None) -> CorpusError:
    """A bad record at 1-based ``where``: ``path:LINE: ...`` for lines (the editors'
    convention), ``path: row N: ...`` for table rows; ``.line`` holds the number."""
    if unit == "line":
        return CorpusError(message, path=source, line=where, hint=hint)
    err = CorpusError(f"{unit} {where}: {message}", path=source, hint=hint)
    err.line = where
    return err


def text_of(record: Any, text_field: str, source: str, where: int, sink: Sink,
            unit: str = "line") -> str | None:
    """The text field of a record, or None after reporting a bad record."""
    if not isinstance(record, dict):
        sink.bad(record_error(
            f"record is a JSON {type(record).__name__}, not an object", source, where, unit))
        return None
    if text_field not in record:
        fields = ", ".join(sorted(map(str, record))[:10]) or "none"
        sink.bad(record_error(
            f"record has no field {text_field!r}", source, where, unit,
            hint=f"fields present: {fields}; choose one with --text-field",
        ))
        return None
    text = record[text_field]
    if not isinstance(text, str):
        sink.bad(record_error(
            f"field {text_field!r} is {type(text).__name__}, not a string", source, where, unit))
        return None
    return storable(text)[0]  # a "\ud800" escape decodes to what UTF-8 cannot hold: U+FFFD
