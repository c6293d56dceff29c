"""Exporting a run: one row per generation (failed ones included) with its findings.

Columns: ``generation_id``, ``prompt_id``, ``attack``, ``prompt``, ``text``,
``finish_reason``, ``prompt_tokens``, ``completion_tokens``, ``elapsed_s``, ``error`` and
``image_sha256``/``image_path`` (image runs: the PNGs are written to ``OUT.images/``) and
``findings``: a list of ``{detector, kind, start, end, score, data}`` (``data``: the fields of
the finding's typed payload, see :mod:`regurgitate.findings`). In JSON lines ``data``
is an object; in Parquet it is a JSON string (its keys differ between detectors).
The file is written next to ``out`` and renamed into place when complete, never over the
run database (:mod:`regurgitate.safe_paths`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from regurgitate.errors import ConfigError, StoreError
from regurgitate.safe_paths import write_atomically
from regurgitate.store import codec
from regurgitate.store.runstore import RunStore

FORMATS = ("jsonl", "parquet")
_BATCH = 1000


def export_rows(store: RunStore, image_dir: Path | None = None) -> Iterator[dict[str, Any]]:
    """The export rows of a run, in generation id order. Generated images are written to
    ``image_dir`` as ``SHA256.png`` (``image_path`` is relative to its parent)."""
    findings: dict[int, list[dict[str, Any]]] = {}
    for f in store.findings():
        findings.setdefault(f.generation_id, []).append({
            "detector": f.detector, "kind": f.kind, "start": f.start, "end": f.end,
            "score": f.score, "data": codec.plain(f.payload.to_json()),
        })
    for item in store.generations(ok_only=False):
        g, p = item.generation, item.prompt
        yield {
            "generation_id": item.generation_id,
            "prompt_id": p.id,
            "attack": p.attack,
            "prompt": p.as_text(),
            "text": g.text,
            "finish_reason": g.finish_reason,
            "prompt_tokens": g.prompt_tokens,
            "completion_tokens": g.completion_tokens,
            "elapsed_s": g.elapsed_s,
            "error": g.error,
            **_image_fields(g.image, image_dir),
            "findings": findings.get(item.generation_id, []),
        }


def _image_fields(image: bytes | None, image_dir: Path | None) -> dict[str, Any]:
    if image is None:
        return {"image_sha256": None, "image_path": None}
    digest = hashlib.sha256(image).hexdigest()
    if image_dir is None:
        return {"image_sha256": digest, "image_path": None}
    image_dir.mkdir(parents=True, exist_ok=True)
    path = image_dir / f"{digest}.png"
    if not path.exists():
        path.write_bytes(image)
    return {"image_sha256": digest, "image_path": f"{image_dir.name}/{path.name}"}


def export_run(store: RunStore, out: Path | str, fmt: Literal["jsonl", "parquet"]) -> int:
    """Write the run to ``out`` as JSON lines or Parquet; returns the number of rows."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}", hint="use jsonl or parquet")
    out = Path(out)
    if not out.parent.is_dir():
        raise StoreError(f"cannot write {out}: directory {out.parent} does not exist",
                         hint=f"create it first: mkdir -p {out.parent}")
    images = out.with_name(f"{out.name}.images") if store.is_image_run() else None
    writer = _write_jsonl if fmt == "jsonl" else _write_parquet
    # never over the run database (or any SQLite file), never through a symlink, atomic
    return write_atomically(out, lambda tmp: writer(store, tmp, images), protect=[store.path],
                            what="export")


def _write_jsonl(store: RunStore, path: Path, images: Path | None) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in export_rows(store, images):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def _parquet_schema() -> Any:
    import pyarrow as pa

    finding = pa.struct([
        ("detector", pa.string()), ("kind", pa.string()), ("start", pa.int64()),
        ("end", pa.int64()), ("score", pa.float64()), ("data", pa.string()),
    ])
    return pa.schema([
        ("generation_id", pa.int64()), ("prompt_id", pa.string()), ("attack", pa.string()),
        ("prompt", pa.string()), ("text", pa.string()), ("finish_reason", pa.string()),
        ("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()),
        ("elapsed_s", pa.float64()), ("error", pa.string()),
        ("image_sha256", pa.string()), ("image_path", pa.string()),
        ("findings", pa.list_(finding)),
    ])


def _write_parquet(store: RunStore, path: Path, images: Path | None) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _parquet_schema()
    n = 0
    batch: list[dict[str, Any]] = []
    with pq.ParquetWriter(path, schema) as writer:
        for row in export_rows(store, images):
            row["findings"] = [
                {**f, "data": json.dumps(f["data"], ensure_ascii=False)} for f in row["findings"]
            ]
            batch.append(row)
            if len(batch) >= _BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n += len(batch)
                batch = []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n
