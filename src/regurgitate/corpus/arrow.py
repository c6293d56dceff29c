"""Arrow-backed corpora: Parquet files and datasets written by ``save_to_disk``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from regurgitate.corpus.records import Sink, name_record, scalar_fields, text_of
from regurgitate.errors import CorpusError
from regurgitate.types import Document


def read_parquet(path: Path, source: str, text_field: str, sink: Sink) -> Iterator[Document]:
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
    yield from records_from_batches(
        pf.iter_batches(batch_size=1024), source, None, text_field, sink
    )


def records_from_batches(
    batches: Iterable[Any], source: str, split: str | None, text_field: str, sink: Sink,
    position: list[int] | None = None,
) -> Iterator[Document]:
    """Documents of Arrow record batches; ``position[0]`` counts the rows read so far
    (rows are numbered from 1 in metadata and errors, like JSON lines)."""
    pos = position if position is not None else [0]
    for batch in batches:
        for record in batch.to_pylist():
            pos[0] += 1
            row = pos[0]
            text = text_of(record, text_field, source, row, sink, unit="row")
            if text is None:
                continue
            meta: dict[str, Any] = {"source": source}
            if split is not None:
                meta["split"] = split
            meta["row"] = row
            where = f"{source}:{split}:{row}" if split is not None else f"{source}:{row}"
            if not name_record(meta, record, where, row, "row", sink):
                continue
            fields = scalar_fields(record, text_field)
            if fields:
                meta["fields"] = fields
            yield Document(text, meta)

def load_json(path: Path, source: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorpusError(f"cannot read {path.name}: {exc}", path=source) from exc


def read_dataset(
    root: Path, source: str, split: str | None, text_field: str, sink: Sink
) -> Iterator[Document]:
    import pyarrow as pa

    state = load_json(root / "state.json", source)
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
                yield from records_from_batches(
                    reader, source, split, text_field, sink, position
                )
        except pa.ArrowException as exc:
            raise CorpusError(f"cannot read Arrow data: {exc}", path=str(arrow)) from exc


def read_dataset_dict(
    root: Path, source: str, text_field: str, sink: Sink
) -> Iterator[Document]:
    info = load_json(root / "dataset_dict.json", source)
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
        yield from read_dataset(sub, source, str(split), text_field, sink)
