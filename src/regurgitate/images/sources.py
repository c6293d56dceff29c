"""Readers of training images with captions: a folder with a sidecar, or an image-text Parquet.

Folder: ``captions.jsonl`` (``{"file": "a.png", "caption": "...", "id"?: "...", "count"?: 3}``
per line) or ``captions.csv`` (header ``file,caption[,id][,count]``), paths relative to the folder.
Parquet: one row per image, the image in a column ``image`` (bytes, or a struct with ``bytes`` as
Hugging Face datasets write it) or ``path``/``file``, the caption in ``caption`` or ``text``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from regurgitate.errors import CorpusError
from regurgitate.images import imageio
from regurgitate.images.records import SourceImage

SIDECARS = ("captions.jsonl", "captions.csv")


def _image(folder: Path, name: str, where: str, line: int) -> Any:
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents:
        raise CorpusError(f"image path {name!r} leaves the folder", path=where, line=line)
    try:
        return imageio.decode(path.read_bytes())
    except OSError as exc:
        raise CorpusError(f"cannot read image {name!r}: {exc}", path=where, line=line) from exc


def _row(folder: Path, rec: dict[str, Any], where: str, line: int) -> SourceImage:
    name = rec.get("file") or rec.get("path")
    if not isinstance(name, str) or not name:
        raise CorpusError("record has no 'file'", path=where, line=line)
    caption = rec.get("caption", rec.get("text", ""))
    try:
        count = int(rec.get("count") or 1)
    except (TypeError, ValueError) as exc:
        raise CorpusError(f"bad count {rec.get('count')!r}", path=where, line=line) from exc
    extra = {k: v for k, v in rec.items() if k not in ("file", "path", "caption", "text", "count")}
    return SourceImage(id=str(rec.get("id") or name), caption=str(caption or ""),
                       pixels=_image(folder, name, where, line), count=max(count, 1),
                       meta={"file": name, **extra})


def read_folder(folder: Path) -> Iterator[SourceImage]:
    jsonl, csv_path = folder / SIDECARS[0], folder / SIDECARS[1]
    if jsonl.exists():
        with jsonl.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError as exc:
                    raise CorpusError("not valid JSON", path=str(jsonl), line=n) from exc
                if not isinstance(rec, dict):
                    raise CorpusError("each line must be a JSON object", path=str(jsonl), line=n)
                yield _row(folder, rec, str(jsonl), n)
    elif csv_path.exists():
        with csv_path.open(encoding="utf-8", newline="") as fh:
            for n, rec in enumerate(csv.DictReader(fh), 2):
                yield _row(folder, dict(rec), str(csv_path), n)
    else:
        raise CorpusError(f"no {' or '.join(SIDECARS)} in the folder", path=str(folder),
                          hint="list each image's file and caption in a sidecar file")


def read_parquet(path: Path) -> Iterator[SourceImage]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:
        raise CorpusError(f"not a Parquet file: {exc}", path=str(path)) from exc
    cols = set(pf.schema_arrow.names)
    cap_col = "caption" if "caption" in cols else "text" if "text" in cols else None
    if cap_col is None:
        raise CorpusError("no 'caption' or 'text' column", path=str(path))
    row = 0
    for batch in pf.iter_batches(batch_size=256):
        for rec in batch.to_pylist():
            row += 1
            data = rec.get("image")
            if isinstance(data, dict):
                data = data.get("bytes")
            if isinstance(data, bytes | bytearray):
                pixels = imageio.decode(bytes(data))
            elif rec.get("path") or rec.get("file"):
                name = str(rec.get("path") or rec.get("file"))
                pixels = _image(path.parent, name, str(path), row)
            else:
                raise CorpusError("row has no image bytes or path", path=str(path), line=row)
            count = int(rec.get("count") or 1)
            yield SourceImage(id=str(rec.get("id") or f"row-{row}"),
                              caption=str(rec.get(cap_col) or ""), pixels=pixels,
                              count=max(count, 1))


def read_source(src: Path) -> Iterator[SourceImage]:
    """Images of a folder (with a sidecar) or a Parquet file."""
    if src.is_dir():
        return read_folder(src)
    if src.suffix == ".parquet":
        return read_parquet(src)
    raise CorpusError("expected a folder with captions.jsonl/captions.csv or a .parquet file",
                      path=str(src))
