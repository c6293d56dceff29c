"""The training-image index: build it from ``SourceImage`` records, open it, query it.

On disk (one folder)::

    meta.json        format, sizes, threshold, grid, optional embedding model
    records.parquet  row, id, caption, caption_count, count, phash, thumbnail (PNG), meta (JSON)
    pixels.npy       N x S x S x 3 uint8: every image resized to the descriptor size S
    vectors.faiss    faiss IndexFlatL2 over block-averaged R x R x 3 vectors (R = S / factor)
    embeddings.npy   N x D float32, L2-normalised (only with a copy-detection/CLIP model)

Exactness: the normalised L2 of block-averaged images is a lower bound of the tiled L2 at full
size (Jensen's inequality on the block means, then max over tiles >= mean over tiles), so a faiss
range search with radius ``threshold`` on the small vectors returns every training image that can
be within the threshold; those are then ranked by the exact tiled L2.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from regurgitate import safe_paths
from regurgitate.errors import (
    ConfigError,
    IndexCorruptError,
    optional_import,
)
from regurgitate.images import imageio
from regurgitate.images.distance import DEFAULT_GRID, DEFAULT_THRESHOLD, tiled_l2, to_unit
from regurgitate.images.embed import Embedder
from regurgitate.images.records import Neighbor, SourceImage

FORMAT = "regurgitate-image-index/1"


def _faiss() -> Any:
    return optional_import("faiss", package="faiss-cpu", extra="images",
                           purpose="the training-image index")


def retrieval_vectors(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Block-average N x S x S x 3 images by ``factor``; float32 rows scaled so that the squared
    L2 between rows is the *mean* squared pixel difference (normalised L2 squared)."""
    unit = to_unit(pixels)
    n, s, _, c = unit.shape
    r = s // factor
    small = unit.reshape(n, r, factor, r, factor, c).mean(axis=(2, 4))
    flat = small.reshape(n, r * r * c)
    return np.ascontiguousarray(flat / np.sqrt(flat.shape[1]), dtype=np.float32)


@dataclass(frozen=True)
class IndexSettings:
    size: int = 64
    retrieval_factor: int = 4
    grid: int = DEFAULT_GRID
    threshold: float = DEFAULT_THRESHOLD
    thumb: int = 64

    def check(self) -> None:
        if self.size % self.grid or self.size % self.retrieval_factor:
            raise ConfigError(f"descriptor size {self.size} must be a multiple of the tile grid "
                              f"({self.grid}) and of the retrieval factor "
                              f"({self.retrieval_factor})")


#: the files of an image index (``--force`` replaces a folder holding only these)
_FILES = ("meta.json", "pixels.npy", "records.parquet", "vectors.faiss", "embeddings.npy")


def _own_file(folder: Path, name: str) -> bool:
    return name in _FILES


def _check_output(out: Path, overwrite: bool) -> None:
    safe_paths.check_output_dir(out, overwrite, is_ours=_is_image_index, own_entry=_own_file,
                        what="an image index (no meta.json of this format)")


def _is_image_index(path: Path) -> bool:
    try:
        return bool(json.loads((path / "meta.json").read_text()).get("format") == FORMAT)
    except (OSError, ValueError, AttributeError):
        return False


def build_image_index(images: Iterable[SourceImage], out: Path,
                      settings: IndexSettings | None = None,
                      embedder: Embedder | None = None, *, overwrite: bool = False,
                      progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Write an index of ``images`` into ``out``; returns its meta (with build figures).

    ``out`` must be new or empty; with ``overwrite`` it may also be an image index, which
    is replaced only once the new one is complete (never another folder: see
    :mod:`regurgitate.safe_paths`). ``progress(images, images)`` is called every 100
    images."""
    settings = settings or IndexSettings()
    settings.check()
    out = Path(out)
    with safe_paths.building(out, lambda: _check_output(out, overwrite)) as tmp:
        meta = _write_index(images, tmp, settings, embedder, progress)
    return meta


def _write_index(images: Iterable[SourceImage], out: Path, settings: IndexSettings,
                 embedder: Embedder | None, progress: Callable[[int, int], None] | None
                 ) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    pixels: list[np.ndarray] = []
    seen: set[str] = set()
    for img in images:
        if img.id in seen:
            raise ConfigError(f"image id {img.id!r} occurs twice in the source",
                              hint="give every image a unique id")
        seen.add(img.id)
        small = imageio.resize(img.pixels, settings.size)
        pixels.append(small)
        rows.append({"row": len(rows), "id": img.id, "caption": img.caption,
                     "count": int(img.count), "phash": imageio.phash(img.pixels),
                     "thumbnail": imageio.thumbnail(img.pixels, settings.thumb),
                     "meta": json.dumps(img.meta, sort_keys=True, default=str)})
        if progress is not None and len(rows) % 100 == 0:
            progress(len(rows), len(rows))
    if not rows:
        raise ConfigError("no images found in the source")
    captions: Counter[str] = Counter()
    for r in rows:
        captions[r["caption"]] += r["count"]
    for r in rows:
        r["caption_count"] = captions[r["caption"]]
    out.mkdir(parents=True, exist_ok=True)
    arr = np.stack(pixels)
    np.save(out / "pixels.npy", arr)
    table = pa.Table.from_pylist(rows, schema=pa.schema([
        ("row", pa.int64()), ("id", pa.string()), ("caption", pa.string()), ("count", pa.int64()),
        ("phash", pa.uint64()), ("thumbnail", pa.binary()), ("meta", pa.string()),
        ("caption_count", pa.int64())]))
    pq.write_table(table, out / "records.parquet")
    faiss = _faiss()
    vecs = retrieval_vectors(arr, settings.retrieval_factor)
    flat = faiss.IndexFlatL2(vecs.shape[1])
    flat.add(vecs)
    faiss.write_index(flat, str(out / "vectors.faiss"))
    embedding: dict[str, Any] | None = None
    if embedder is not None:
        emb = embedder.embed(arr)
        np.save(out / "embeddings.npy", emb)
        embedding = embedder.describe()
    meta = {"format": FORMAT, "images": len(rows), "captions": len(captions),
            "size": settings.size, "retrieval_factor": settings.retrieval_factor,
            "grid": settings.grid, "threshold": settings.threshold, "thumb": settings.thumb,
            "embedding": embedding, "build_seconds": round(time.perf_counter() - t0, 3)}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


class ImageIndex:
    """An opened training-image index (pixels memory-mapped)."""

    modality: ClassVar[str] = "image"

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self.path = path
        try:
            self.meta: dict[str, Any] = json.loads((path / "meta.json").read_text())
        except FileNotFoundError as exc:
            raise IndexCorruptError(f"{path} is not an image index (no meta.json)") from exc
        except ValueError as exc:
            raise IndexCorruptError(f"{path}/meta.json is not valid JSON") from exc
        if self.meta.get("format") != FORMAT:
            raise IndexCorruptError(f"{path} has format {self.meta.get('format')!r}, "
                                    f"expected {FORMAT!r}")
        try:
            self.pixels = np.load(path / "pixels.npy", mmap_mode="r")
            table = pq.read_table(path / "records.parquet")
            self.vectors = _faiss().read_index(str(path / "vectors.faiss"))
        except (OSError, ValueError, RuntimeError) as exc:
            raise IndexCorruptError(f"image index {path} is incomplete or corrupt: {exc}",
                                    hint="rebuild it with: regurgitate index build-images") from exc
        cols = table.to_pydict()
        self.ids: list[str] = cols["id"]
        self.captions: list[str] = cols["caption"]
        self.counts: list[int] = cols["count"]
        self.caption_counts: list[int] = cols["caption_count"]
        self.phashes: list[int] = cols["phash"]
        self.thumbnails: list[bytes] = cols["thumbnail"]
        self.metas: list[dict[str, Any]] = [json.loads(m) for m in cols["meta"]]
        n = len(self.ids)
        if self.pixels.shape[0] != n or self.vectors.ntotal != n:
            raise IndexCorruptError(f"image index {path}: files disagree on the image count")
        emb = path / "embeddings.npy"
        self.embeddings = np.load(emb) if emb.exists() else None

    @property
    def info(self) -> dict[str, Any]:
        """What a run records about its index."""
        return {"path": str(self.path), **{k: v for k, v in self.meta.items()}}

    @property
    def size(self) -> int:
        return int(self.meta["size"])

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    def __len__(self) -> int:
        return len(self.ids)

    def describe(self) -> dict[str, Any]:
        """The index facts a report needs: how many training images per duplicate count."""
        by_count: dict[str, int] = {}
        heldout = 0
        for count, meta in zip(self.counts, self.metas, strict=True):
            if meta.get("split") == "heldout" or count == 0:
                heldout += 1
                continue
            by_count[str(count)] = by_count.get(str(count), 0) + 1
        return {"path": str(self.path), "images": len(self), "threshold": self.threshold,
                "by_count": by_count, "heldout": heldout, "size": self.size}

    def caption_ranking(self) -> list[tuple[str, int]]:
        """Distinct captions with their duplicate counts, most duplicated first."""
        seen: dict[str, int] = {}
        for cap, cnt in zip(self.captions, self.caption_counts, strict=True):
            seen[cap] = cnt
        return sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))

    def query(self, images: Sequence[np.ndarray], k: int = 3, threshold: float | None = None,
              embeddings: np.ndarray | None = None) -> list[list[Neighbor]]:
        """For each image: every training image within ``threshold`` (tiled L2), plus the
        ``k`` nearest (by whole-image L2, re-ranked by tiled L2), closest first."""
        if not images:
            return []
        thr = self.threshold if threshold is None else threshold
        q = np.stack([imageio.resize(im, self.size) for im in images])
        vecs = retrieval_vectors(q, int(self.meta["retrieval_factor"]))
        lims, _, hits = self.vectors.range_search(vecs, float(thr) ** 2 * 1.0001)
        kk = min(len(self), max(k, 1) * 4)
        _, knn = self.vectors.search(vecs, kk)
        out: list[list[Neighbor]] = []
        grid = int(self.meta["grid"])
        for i in range(len(q)):
            near = {int(j) for j in knn[i] if j >= 0}
            cand = sorted(set(hits[lims[i]:lims[i + 1]].tolist()) | near)
            rows = np.asarray(cand, dtype=np.int64)
            ref = np.asarray(self.pixels[rows])
            tiled = tiled_l2(q[i:i + 1], ref, grid)[0]
            whole = tiled_l2(q[i:i + 1], ref, 1)[0]
            ph = imageio.phash(images[i])
            sims = None
            if embeddings is not None and self.embeddings is not None:
                sims = self.embeddings[rows] @ embeddings[i]
            order = np.argsort(tiled, kind="stable")
            found: list[Neighbor] = []
            for rank, j in enumerate(order):
                within = bool(tiled[j] <= thr)
                if rank >= k and not within:
                    continue
                row = int(rows[j])
                found.append(Neighbor(row=row, id=self.ids[row], caption=self.captions[row],
                                      distance=float(tiled[j]), whole=float(whole[j]),
                                      phash_bits=imageio.hamming(ph, self.phashes[row]),
                                      similarity=None if sims is None else float(sims[j]),
                                      within=within))
            out.append(found)
        return out
