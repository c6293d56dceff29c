"""Building an index: stream documents to disk shard by shard, then suffix-sort each shard.

Memory stays proportional to one batch of documents (at most 1000 documents or 4 M
characters) plus one shard's suffix array (4 bytes per byte of ``tokenized.s`` while sorting
a shard below 2 GiB, 8 above): tokens are written to
``tokenized.s`` as they are produced and the suffix array is written out in chunks.
The build happens in a hidden sibling directory that is renamed into place at the very end,
so a killed build never leaves something that looks like a complete index.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

import numpy as np

from regurgitate.corpus.tokenizer import Tokenizer
from regurgitate.errors import ConfigError, CorpusError, IndexCorruptError
from regurgitate.index import format as fmt
from regurgitate.index import kernels, output
from regurgitate.types import Document

ProgressFn = Callable[[int, int], None]
T = TypeVar("T")

_TABLE_CHUNK = 1 << 20
_BATCH_CHARS = 4 << 20


@dataclass(frozen=True)
class IndexInfo:
    """What a build produced (also what ``CorpusIndex.info`` reports)."""

    path: Path
    num_docs: int
    num_tokens: int
    num_shards: int
    dtype: str
    tokenizer: dict[str, Any]
    build_seconds: float
    manifest: dict[str, Any] = field(repr=False, default_factory=dict)
    #: UTF-8 bytes of the documents' texts (what the index's size is compared with)
    text_bytes: int = 0
    #: the index format (``sa`` or ``fm``)
    index_format: str = "sa"


def interruptible(fn: Callable[[Any], T], arg: Any) -> T:
    """``fn(arg)`` in a worker thread while this one waits: long calls into C or Rust
    (suffix sorting, tokenizing) release the GIL, so Ctrl-C and SIGTERM are handled at once
    here instead of when the call returns. The worker is a daemon: an interrupted build
    exits without waiting for it."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = fn(arg)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="regurgitate-build", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
    if "error" in box:
        raise box["error"]
    return cast(T, box["result"])


def suffix_array(data: np.ndarray) -> np.ndarray:
    """Suffix array of all byte suffixes of ``data`` (uint8), by libdivsufsort."""
    from pydivsufsort import divsufsort

    if data.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(divsufsort(data))


def write_table(sa: np.ndarray, data: np.ndarray, width: int, psize: int,
                out: BinaryIO) -> np.ndarray:
    """Keep the token-aligned suffixes (offsets divisible by ``width``), in order: the
    byte-lexicographic order of the little-endian file, which is infini-gram's. Pointers
    are written as ``psize``-byte little-endian integers, chunk by chunk (no full copy).

    Returns the two-byte prefix table (see :func:`regurgitate.index.format.prefix_key`)."""
    buf = np.empty(min(sa.size, _TABLE_CHUNK) * psize, dtype=np.uint8)
    for start in range(0, sa.size, _TABLE_CHUNK):
        chunk = np.ascontiguousarray(sa[start:start + _TABLE_CHUNK])
        written = kernels.pack_table(chunk, width, psize, buf)
        out.write(buf[:written * psize].tobytes())
    # the bucket sizes do not depend on the order: count the keys of all token-aligned
    # offsets in one sequential pass over the data (no temporary arrays)
    counts = np.zeros(fmt.PREFIX_KEYS, dtype=np.int64)
    kernels.count_prefixes(data, width, counts)
    return np.concatenate(([0], np.cumsum(counts))).astype("<u8")


class _ShardWriter:
    """Appends documents to one shard's files."""

    def __init__(self, directory: Path, shard: int, dtype: np.dtype,
                 index_format: str = "sa") -> None:
        self.directory = directory
        self.index_format = index_format
        self.shard = shard
        self.dtype = dtype
        self.sep = np.array([fmt.separator(dtype)], dtype=dtype).tobytes()
        self.files = {k: fmt.shard_file(directory, k, shard).open("wb") for k in
                      ("tokenized", "offset", "metadata", "metaoff")}
        self.bytes_written = 0
        self.meta_written = 0
        self.num_docs = 0
        self.num_tokens = 0

    @property
    def tokens_in_shard(self) -> int:
        return self.bytes_written // self.dtype.itemsize

    def add(self, ids: np.ndarray, meta: dict[str, Any]) -> None:
        f = self.files
        f["offset"].write(np.uint64(self.bytes_written).tobytes())
        data = np.ascontiguousarray(ids, dtype=self.dtype.newbyteorder("<")).tobytes()
        f["tokenized"].write(self.sep)
        f["tokenized"].write(data)
        self.bytes_written += len(self.sep) + len(data)
        try:
            line = (json.dumps(meta, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise CorpusError(f"document metadata is not JSON-serialisable: {exc}") from exc
        f["metaoff"].write(np.uint64(self.meta_written).tobytes())
        f["metadata"].write(line)
        self.meta_written += len(line)
        self.num_docs += 1
        self.num_tokens += int(ids.size)

    def _write_sample(self, psize: int) -> None:
        keys = _sample_of(self.directory, self.shard, self.dtype.itemsize, psize) \
            if self.bytes_written else np.zeros(0, dtype="<u8")
        fmt.shard_file(self.directory, "sample", self.shard).write_bytes(keys.tobytes())

    def finish(self) -> dict[str, Any]:
        for fh in self.files.values():
            fh.close()
        ds_path = fmt.shard_file(self.directory, "tokenized", self.shard)
        width = self.dtype.itemsize
        psize = fmt.ptr_size(self.bytes_written)
        data = np.fromfile(ds_path, dtype=np.uint8)
        sa = interruptible(suffix_array, data)
        if self.index_format == "fm":
            return self._finish_fm(data, sa, ds_path)
        with fmt.shard_file(self.directory, "table", self.shard).open("wb") as out:
            prefix = write_table(sa, data, width, psize, out)
        del sa, data
        fmt.shard_file(self.directory, "prefix", self.shard).write_bytes(prefix.tobytes())
        self._write_sample(psize)
        files = {f"{k}.{self.shard}": fmt.describe_file(fmt.shard_file(self.directory, k,
                                                                        self.shard))
                 for k in fmt.SHARD_FILES}
        return {"id": self.shard, "num_docs": self.num_docs, "num_tokens": self.num_tokens,
                "ptr_size": psize, "files": files}


    def _finish_fm(self, data: np.ndarray, sa: np.ndarray, ds_path: Path) -> dict[str, Any]:
        """Write the FM-index files from the suffix array; the token file goes (the text is
        read back from the BWT)."""
        from regurgitate.index.fm_build import write_fm_shard

        starts = np.fromfile(fmt.shard_file(self.directory, "offset", self.shard), dtype="<u8")
        record = write_fm_shard(self.directory, self.shard, self.dtype, data, sa, starts,
                                fmt.FM_SAMPLE_EVERY)
        del sa, data
        ds_path.unlink()
        files = {f"{k}.{self.shard}": fmt.describe_file(fmt.shard_file(self.directory, k,
                                                                        self.shard))
                 for k in fmt.FM_SHARD_FILES}
        return {"id": self.shard, "num_docs": self.num_docs, "num_tokens": self.num_tokens,
                "files": files, "fm": record}


def _sample_of(directory: Path, shard: int, width: int, psize: int) -> np.ndarray:
    """The keys of every ``SAMPLE_EVERY``-th suffix of a written shard (``sample.s``), read
    from its table and data files (the table just written is in the page cache)."""
    data = np.memmap(fmt.shard_file(directory, "tokenized", shard), dtype=np.uint8, mode="r")
    table = np.memmap(fmt.shard_file(directory, "table", shard), dtype=np.uint8, mode="r")
    n = table.size // psize
    ranks = np.arange(0, n, fmt.SAMPLE_EVERY, dtype=np.int64)
    ptrs, err = kernels.pointers(table, psize, n, data.size, width, ranks)
    if err != kernels.OK:
        raise IndexCorruptError(f"{directory}: the suffix array just written is damaged")
    return fmt.sample_keys(data, ptrs).astype("<u8")


def _batches(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    """Lists of ``size`` documents, or fewer once they hold ``_BATCH_CHARS`` characters
    (a tokenizer's per-token objects for one batch must stay small)."""
    batch: list[Document] = []
    chars = 0
    for doc in docs:
        if not isinstance(doc, Document):
            raise CorpusError(f"expected a Document, got {type(doc).__name__}")
        batch.append(doc)
        chars += len(doc.text)
        if len(batch) >= size or chars >= _BATCH_CHARS:
            yield batch
            batch = []
            chars = 0
    if batch:
        yield batch


def build_index(
    docs: Iterable[Document],
    out_dir: Path,
    tokenizer: Tokenizer,
    *,
    shard_tokens: int = 2**30,
    batch_docs: int = 1000,
    progress: ProgressFn | None = None,
    overwrite: bool = False,
    index_format: str = "sa",
) -> IndexInfo:
    """Tokenize ``docs`` and write a sharded suffix-array index into ``out_dir``.

    A new shard starts when adding a document would take the current one past
    ``shard_tokens`` tokens (separators included); a document is never split, so a document
    longer than the budget gets a shard of its own. ``index_format`` is ``"sa"`` (suffix
    array beside the tokens, infini-gram's layout) or ``"fm"`` (a compressed FM-index that
    holds the text itself: see :mod:`regurgitate.index.fm_shard`); both answer the same.
    ``progress(docs_done, tokens_done)`` is called after every batch. Raises
    :class:`ConfigError` for bad arguments or an existing ``out_dir`` (unless
    ``overwrite``, which replaces only an index: see :mod:`regurgitate.index.output`),
    :class:`CorpusError` for an empty corpus.
    """
    if shard_tokens < 1 or batch_docs < 1:
        raise ConfigError("shard_tokens and batch_docs must be positive")
    if index_format not in fmt.FORMATS:
        raise ConfigError(f"unknown index format {index_format!r}",
                          hint=f"choose one of {', '.join(fmt.FORMATS)}")
    out_dir = Path(out_dir)
    output.check_output(out_dir, overwrite)
    started = time.time()
    dtype = np.dtype(tokenizer.dtype).newbyteorder("<")
    sep = fmt.separator(dtype)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    output.clean_stale(out_dir)
    tmp = output.temp_dir(out_dir)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        shards: list[dict[str, Any]] = []
        writer: _ShardWriter | None = None
        docs_done = tokens_done = text_bytes = 0
        for batch in _batches(docs, batch_docs):
            text_bytes += sum(len(d.text.encode("utf-8", "surrogatepass")) for d in batch)
            encoded = interruptible(tokenizer.encode_batch, [d.text for d in batch])
            for doc, ids in zip(batch, encoded, strict=True):
                if ids.size and int(ids.max()) >= sep:
                    raise CorpusError(f"token id {int(ids.max())} collides with the document "
                                      f"separator {sep} of dtype {fmt.dtype_name(dtype)}")
                if writer is not None and writer.num_docs and \
                        writer.tokens_in_shard + 1 + ids.size > shard_tokens:
                    shards.append(writer.finish())
                    writer = None
                if writer is None:
                    writer = _ShardWriter(tmp, len(shards), dtype, index_format)
                writer.add(ids, doc.meta)
                tokens_done += int(ids.size)
            docs_done += len(batch)
            if progress is not None:
                progress(docs_done, tokens_done)
        if writer is None:
            raise CorpusError("the corpus has no documents: nothing to index")
        shards.append(writer.finish())
        if hasattr(tokenizer, "json_bytes"):
            (tmp / "tokenizer.json").write_bytes(tokenizer.json_bytes)
        build_seconds = round(time.time() - started, 3)
        manifest: dict[str, Any] = {
            "format": fmt.FORMATS[index_format],
            "version": fmt.FORMAT_VERSION,
            "tokenizer": tokenizer.describe(),
            "dtype": fmt.dtype_name(dtype),
            "num_docs": docs_done,
            "num_tokens": tokens_done,
            "text_bytes": text_bytes,
            "shards": shards,
            "build_seconds": build_seconds,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (tmp / fmt.MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        output.check_output(out_dir, overwrite)  # nothing else appeared there meanwhile
        output.replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return IndexInfo(path=out_dir, num_docs=docs_done, num_tokens=tokens_done,
                     num_shards=len(shards), dtype=fmt.dtype_name(dtype),
                     tokenizer=tokenizer.describe(), build_seconds=float(build_seconds),
                     manifest=manifest, text_bytes=text_bytes, index_format=index_format)
