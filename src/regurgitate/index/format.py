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
    sample.s      (ours, optional) u64 key of every ``SAMPLE_EVERY``-th suffix by rank: its
                  first 8 bytes read big-endian (zero-padded past the data's end), so the
                  top levels of a search are a lookup in memory, not first touches of
                  pages of table.s and tokenized.s (:func:`sample_keys`)

An FM-index (``"format": "regurgitate-fm-index"`` in the manifest, built with
``index build --format fm``) keeps ``offset.s``, ``metadata.s`` and ``metaoff.s`` as above and,
instead of the token data and the suffix array (the text is read back from the BWT)::

    fmbits.s     u64 words: the bit vectors of a Huffman-shaped wavelet tree of the BWT,
                 node after node (bit i of the vector is bit i % 64 of its word i // 64),
                 compressed: only the words whose bits are not all equal are stored
    fmrank.s     u64, four per 2048 bits: ones and stored words before them, and for each of
                 their four blocks of 512 bits the same counts inside the 2048 and which of
                 its 8 words are stored, all ones or all zeros (rank in O(1): one directory
                 line and at most 8 popcounts; see :mod:`regurgitate.index.fm_bits`)
    fmnodes.s    i64 per tree node: bit offset, length, ones before it, child 0, child 1
                 (a child < 0 is the leaf of dense symbol -1 - child)
    fmsyms.s     i64 per dense symbol (the shard's distinct tokens ordered by their
                 little-endian bytes, as the suffix array orders them): token, suffixes
                 starting with a smaller symbol, Huffman code bits, code length
    fmsa.s       u32 (u64 past 4 G tokens) text position of every ``sample_every``-th suffix
    fmdocrow.s   u64 row of each document's separator (where its text is read back from)

The manifest's shard record holds the rest (``fm``: tokens, bits, the bit vectors' layout and
stored words, symbols, nodes, the sampling, the row of position 0, the last token's symbol,
the separator's symbol).

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

from regurgitate.errors import ConfigError, IndexCorruptError

FORMAT_NAME = "regurgitate-index"
#: the manifest's ``format`` of a compressed (FM-)index
FM_FORMAT_NAME = "regurgitate-fm-index"
#: index formats by the name ``index build --format`` takes
FORMATS = {"sa": FORMAT_NAME, "fm": FM_FORMAT_NAME}
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SHARD_FILES = ("tokenized", "offset", "table", "metadata", "metaoff", "prefix", "sample")
REQUIRED_SHARD_FILES = ("tokenized", "offset", "table")
FM_SHARD_FILES = ("offset", "metadata", "metaoff", "fmbits", "fmrank", "fmnodes", "fmsyms",
                  "fmsa", "fmdocrow")
#: every this many rows of an FM-index, ``fmsa.s`` keeps the suffix's position
FM_SAMPLE_EVERY = 32
#: a sharded build keeps each part's own index in ``part-NNNNN/`` beside the shard files
PART_PREFIX = "part-"

DTYPES: dict[str, np.dtype] = {
    "u8": np.dtype("<u1"), "u16": np.dtype("<u2"), "u32": np.dtype("<u4"),
}

_QUICK_BLOCK = 1 << 12
_QUICK_COUNT = 64


PREFIX_KEYS = 256 * 257
#: every this many ranks of the suffix array, ``sample.s`` keeps the suffix's key
SAMPLE_EVERY = 1024


def sample_keys(data: np.ndarray, ptrs: np.ndarray) -> np.ndarray:
    """The key of the suffix at each byte pointer: its first 8 bytes as a big-endian u64,
    zero-padded past the end of ``data``. Keys never decrease along the suffix array (a
    suffix that is a prefix of another sorts first, and pads with zeros)."""
    ptrs = np.asarray(ptrs, dtype=np.int64)
    idx = ptrs[:, None] + np.arange(8, dtype=np.int64)
    size = data.size
    vals = np.where(idx < size, np.asarray(data)[np.minimum(idx, max(size - 1, 0))], 0)
    shifts = np.arange(56, -8, -8, dtype=np.uint64)
    keys: np.ndarray = (vals.astype(np.uint64) << shifts).sum(axis=1, dtype=np.uint64)
    return keys


def sample_size(n: int) -> int:
    """Entries of ``sample.s`` for a table of ``n`` suffixes."""
    return (n + SAMPLE_EVERY - 1) // SAMPLE_EVERY


def prefix_key(data: np.ndarray, ptrs: np.ndarray) -> np.ndarray:
    """Sort key of the first two bytes at each pointer: ``b0 * 257 + b1 + 1``, or
    ``b0 * 257`` for a one-byte suffix (which sorts before every longer one)."""
    size = data.size
    b0 = data[ptrs].astype(np.int64)
    nxt = np.minimum(ptrs + 1, size - 1)
    b1 = np.where(ptrs + 1 < size, data[nxt].astype(np.int64) + 1, 0)
    return np.asarray(b0 * 257 + b1, dtype=np.int64)


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


def file_checksum(path: Path, *, full: bool, block: int = _QUICK_BLOCK,
                  count: int = _QUICK_COUNT) -> str:
    """blake2b of the whole file (``full``, or a file of at most ``block * count`` bytes)
    or of its size and ``count`` evenly spaced blocks of ``block`` bytes."""
    h = hashlib.blake2b(digest_size=16)
    size = path.stat().st_size
    with path.open("rb") as f:
        if full or size <= block * count:
            while chunk := f.read(1 << 22):
                h.update(chunk)
        else:
            h.update(size.to_bytes(8, "little"))
            step = (size - block) // (count - 1)
            for k in range(count):
                f.seek(k * step)
                h.update(f.read(block))
    return h.hexdigest()


def quick_checksum(path: Path) -> str:
    """The checksum every open compares: the whole file up to 256 KiB, else its size and
    64 evenly spaced 4 KiB blocks (a few milliseconds for any index)."""
    return file_checksum(path, full=False, block=_QUICK_BLOCK, count=_QUICK_COUNT)


def describe_file(path: Path) -> dict[str, Any]:
    return {
        "size": path.stat().st_size,
        "quick_blake2b": quick_checksum(path),
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
    if not isinstance(data, dict) or data.get("format") not in FORMATS.values():
        raise IndexCorruptError(f"{path}: not a {FORMAT_NAME} manifest")
    if data.get("version") != FORMAT_VERSION:
        raise IndexCorruptError(
            f"{path}: index format version {data.get('version')} is not supported "
            f"(this regurgitate reads version {FORMAT_VERSION})",
            hint="rebuild the index with 'regurgitate index build'",
        )
    return data


def is_fm(manifest: dict[str, Any] | None) -> bool:
    """Whether a manifest describes an FM-index."""
    return manifest is not None and manifest.get("format") == FM_FORMAT_NAME


def verify_hint(directory: Path) -> str:
    """The hint every corruption error carries: how to check the whole index."""
    return (f"check every file with 'regurgitate index info {directory} --verify'; "
            "rebuild the index if that fails")


def corrupt(directory: Path, message: str) -> IndexCorruptError:
    """An :class:`IndexCorruptError` for damage noticed while opening or querying."""
    return IndexCorruptError(message, hint=verify_hint(directory))


def check_files(directory: Path, manifest: dict[str, Any], *, verify: bool) -> None:
    """Every file the manifest lists exists with its recorded size and its quick checksum
    (see :func:`quick_checksum`); the full checksum if verify."""
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
            quick = rec.get("quick_blake2b")  # indexes built before it existed: none
            if not verify and quick and quick_checksum(path) != quick:
                raise corrupt(directory, f"{path}: sampled checksum does not match the "
                              "manifest (the file was changed after the build)")


def shard_ids(path: Path) -> list[int]:
    """Shard numbers of an index without a manifest, from its tokenized.N files."""
    ids = sorted(int(p.name.split(".", 1)[1]) for p in path.glob("tokenized.*")
                 if p.name.split(".", 1)[1].isdigit())
    if not ids:
        # a folder that holds no index at all is a usage error (exit 2), not a damaged index
        raise ConfigError(f"{path} is not an index directory (no manifest.json or "
                          "tokenized.N files)",
                          hint="build one with: regurgitate index build CORPUS -o DIR")
    if ids != list(range(len(ids))):
        raise IndexCorruptError(f"{path}: shard files are not numbered 0..{len(ids) - 1}")
    return ids


def infer_dtype(path: Path, ids: list[int], token_dtype: str | None) -> np.dtype:
    """The token dtype of an index without a manifest: given, or told by its file sizes."""
    if token_dtype is not None:
        if token_dtype not in DTYPES:
            raise ConfigError(f"token_dtype must be one of {sorted(DTYPES)}")
        return DTYPES[token_dtype]
    ds = shard_file(path, "tokenized", ids[0])
    table = shard_file(path, "table", ids[0])
    if not table.is_file():
        raise IndexCorruptError(f"{table}: file missing from the index")
    size, tsize = ds.stat().st_size, table.stat().st_size
    head = ds.read_bytes()[:4] if size else b""
    fits = [name for name, dt in DTYPES.items()
            if size % dt.itemsize == 0 and tsize == size // dt.itemsize * ptr_size(size)
            and head[:dt.itemsize] == b"\xff" * min(dt.itemsize, len(head))]
    if len(fits) != 1:
        raise ConfigError(f"cannot tell the token dtype of index {path} from its files",
                          hint="pass token_dtype='u8', 'u16' or 'u32'")
    return DTYPES[fits[0]]
