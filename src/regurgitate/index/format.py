"""The on-disk layout of an index: infini-gram's files per shard plus our ``manifest.json``.

Per shard ``s`` (infini-gram's layout, readable by its engine)::

    tokenized.s   token ids, little-endian u8/u16/u32; the dtype's max value before each doc
    offset.s      u64 byte offset (in tokenized.s) of each document's separator
    table.s       suffix array: one pointer of ``ptr_size`` little-endian bytes per token,
                  the byte offset of a token-aligned suffix, ordered by comparing the raw
                  little-endian *bytes* of tokenized.s (infini-gram's order, verified against
                  its indexer: for u16 this is not the order of the token values)
    metadata.s    one JSON line per document (our ``Document.meta``)
    metaoff.s     u64 byte offset of each line in metadata.s
    prefix.s      (ours, optional) u64 first rank of each two-byte suffix prefix, so that
                  searches start inside the right bucket of the suffix array

``manifest.json`` (ours) records the format version, the tokenizer, counts, file sizes and
checksums. An HF tokenizer's json is copied next to it as ``tokenizer.json``.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from regurgitate.errors import IndexCorruptError

FORMAT_NAME = "regurgitate-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SHARD_FILES = ("tokenized", "offset", "table", "metadata", "metaoff", "prefix")
REQUIRED_SHARD_FILES = ("tokenized", "offset", "table")

DTYPES: dict[str, np.dtype] = {
    "u8": np.dtype("<u1"), "u16": np.dtype("<u2"), "u32": np.dtype("<u4"),
}

_SAMPLE_BLOCK = 1 << 16
_SAMPLE_COUNT = 32


PREFIX_KEYS = 256 * 257


def prefix_key(data: np.ndarray, ptrs: np.ndarray) -> np.ndarray:
    """Sort key of the first two bytes at each pointer: ``b0 * 257 + b1 + 1``, or
    ``b0 * 257`` for a one-byte suffix (which sorts before every longer one)."""
    size = data.size
    b0 = data[ptrs].astype(np.int64)
    nxt = np.minimum(ptrs + 1, size - 1)
    b1 = np.where(ptrs + 1 < size, data[nxt].astype(np.int64) + 1, 0)
    out: np.ndarray = b0 * 257 + b1
    return out


def dtype_name(dtype: np.dtype) -> str:
    """``u8``/``u16``/``u32`` for an unsigned token dtype."""
    for name, dt in DTYPES.items():
        if np.dtype(dtype).itemsize == dt.itemsize:
            return name
    raise IndexCorruptError(f"unsupported token dtype {dtype}")


def separator(dtype: np.dtype) -> int:
    """The document separator id: the largest value of the dtype (0xff, 0xffff, ...)."""
    return int(np.iinfo(np.dtype(dtype)).max)


def ptr_size(ds_bytes: int) -> int:
    """Bytes per suffix-array pointer, as infini-gram computes it: ceil(log2(size) / 8)."""
    if ds_bytes <= 1:
        return 1
    return max(1, math.ceil(math.log2(ds_bytes) / 8))


def shard_file(directory: Path, kind: str, shard: int) -> Path:
    return directory / f"{kind}.{shard}"


def file_checksum(path: Path, *, full: bool) -> str:
    """blake2b of the whole file (``full``) or of its size and evenly spaced 64 KiB blocks."""
    h = hashlib.blake2b(digest_size=16)
    size = path.stat().st_size
    with path.open("rb") as f:
        if full or size <= _SAMPLE_BLOCK * _SAMPLE_COUNT:
            while chunk := f.read(1 << 22):
                h.update(chunk)
        else:
            h.update(size.to_bytes(8, "little"))
            step = (size - _SAMPLE_BLOCK) // (_SAMPLE_COUNT - 1)
            for k in range(_SAMPLE_COUNT):
                f.seek(k * step)
                h.update(f.read(_SAMPLE_BLOCK))
    return h.hexdigest()


def describe_file(path: Path) -> dict[str, Any]:
    return {
        "size": path.stat().st_size,
        "sample_blake2b": file_checksum(path, full=False),
        "blake2b": file_checksum(path, full=True),
    }


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest, or None for an index without one (e.g. built by infini-gram)."""
    path = directory / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"{path}: unreadable manifest: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise IndexCorruptError(f"{path}: not a {FORMAT_NAME} manifest")
    if data.get("version") != FORMAT_VERSION:
        raise IndexCorruptError(
            f"{path}: index format version {data.get('version')} is not supported "
            f"(this regurgitate reads version {FORMAT_VERSION})",
            hint="rebuild the index with 'regurgitate index build'",
        )
    return data


def check_files(directory: Path, manifest: dict[str, Any], *, verify: bool) -> None:
    """Every file the manifest lists exists with its recorded size (and checksum if verify)."""
    for shard in manifest.get("shards", []):
        for name, rec in shard.get("files", {}).items():
            path = directory / name
            if not path.is_file():
                raise IndexCorruptError(f"{path}: file missing from the index",
                                        hint="rebuild the index")
            size = path.stat().st_size
            if size != rec["size"]:
                raise IndexCorruptError(
                    f"{path}: size is {size} bytes, the manifest records {rec['size']} "
                    f"({'truncated' if size < rec['size'] else 'too long'})",
                    hint="rebuild the index")
            if verify and file_checksum(path, full=True) != rec["blake2b"]:
                raise IndexCorruptError(f"{path}: checksum does not match the manifest",
                                        hint="rebuild the index")
