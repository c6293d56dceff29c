"""The bundled reference images as index input (held-out images included, marked as such)."""

from __future__ import annotations

from collections.abc import Iterator

from regurgitate.images.records import SourceImage, planted_images
from regurgitate.reference.image.dataset import load_image_set
from regurgitate.reference.image.paths import images_dir


def reference_images(include_heldout: bool = True) -> Iterator[SourceImage]:
    """Every reference image (see :func:`regurgitate.images.records.planted_images`)."""
    images = load_image_set(images_dir())
    return planted_images(images.pixels, images.records, include_heldout)
