"""The bundled text-to-image training images as index input (held-out images marked as such)."""

from __future__ import annotations

from collections.abc import Iterator

from regurgitate.images.records import SourceImage, planted_images
from regurgitate.reference.t2i.dataset import load_t2i_set
from regurgitate.reference.t2i.paths import images_dir


def reference_t2i_images(include_heldout: bool = True) -> Iterator[SourceImage]:
    """Every image with its own caption (see :func:`regurgitate.images.records.planted_images`)."""
    images = load_t2i_set(images_dir())
    return planted_images(images.pixels, images.records, include_heldout)
