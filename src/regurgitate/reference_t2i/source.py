"""The bundled text-to-image training images as index input (held-out images marked as such)."""

from __future__ import annotations

from collections.abc import Iterator

from regurgitate.images.records import SourceImage
from regurgitate.reference_t2i.dataset import load_t2i_set
from regurgitate.reference_t2i.paths import images_dir


def reference_t2i_images(include_heldout: bool = True) -> Iterator[SourceImage]:
    """Every image with its own caption; ``count`` is its duplicate count in the training stream.

    Held-out images are indexed too (``count`` 0, ``meta.split = "heldout"``), so that a scan can
    show that no generation ever lands on one of them.
    """
    images = load_t2i_set(images_dir())
    for pixels, rec in zip(images.pixels, images.records, strict=True):
        if rec.split == "heldout" and not include_heldout:
            continue
        yield SourceImage(id=rec.id, caption=rec.caption, pixels=pixels, count=rec.duplicates,
                          meta={"split": rec.split, "duplicates": rec.duplicates})
