"""The bundled reference images as index input (held-out images included, marked as such)."""

from __future__ import annotations

from collections.abc import Iterator

from regurgitate.images.records import SourceImage
from regurgitate.reference_image.dataset import load_image_set
from regurgitate.reference_image.paths import images_dir


def reference_images(include_heldout: bool = True) -> Iterator[SourceImage]:
    """Every reference image; ``count`` is its duplicate count in the training stream.

    Held-out images are indexed too (``count`` 0, ``meta.split = "heldout"``), so that a scan can
    show that no generation ever lands on one of them.
    """
    images = load_image_set(images_dir())
    for pixels, rec in zip(images.pixels, images.records, strict=True):
        if rec.split == "heldout" and not include_heldout:
            continue
        yield SourceImage(id=rec.id, caption=rec.caption, pixels=pixels,
                          count=rec.duplicates,
                          meta={"split": rec.split, "duplicates": rec.duplicates})
