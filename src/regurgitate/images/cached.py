"""An image index built once from files that ship with the package, cached by their content."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from regurgitate.images.index import IndexSettings, build_image_index
from regurgitate.images.records import SourceImage


def cached_image_index(name: str, files: Sequence[Path],
                       images: Callable[[], Iterable[SourceImage]], cache: Path,
                       settings: IndexSettings, note: Callable[[str], None]) -> Path:
    """``cache/NAME-DIGEST``, the index of ``images()``, built on first use; the digest covers
    the bytes of ``files`` (the images and their manifest), so a rebuilt set gets a new index."""
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]
    path = cache / f"{name}-{digest}"
    if (path / "meta.json").exists():
        return path
    note(f"indexing the bundled training images into {path} (first run only)")
    build_image_index(images(), path, settings, overwrite=True)
    return path
