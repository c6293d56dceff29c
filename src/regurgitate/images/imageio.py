"""Decoding, resizing, hashing and PNG encoding of images (Pillow + imagehash, imported lazily)."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import numpy as np

from regurgitate.errors import optional_import


def _pil() -> Any:
    return optional_import("PIL.Image", package="pillow", extra="images",
                           purpose="reading images")


def decode(data: bytes) -> np.ndarray:
    """Image file bytes -> uint8 H x W x 3 (RGB)."""
    with _pil().open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


def encode_png(pixels: np.ndarray) -> bytes:
    """uint8 H x W x 3 -> PNG bytes (lossless, deterministic)."""
    buf = io.BytesIO()
    _pil().fromarray(np.ascontiguousarray(pixels)).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def resize(pixels: np.ndarray, size: int) -> np.ndarray:
    """Resize (stretch) to size x size with a box/area filter, as a downscale for comparisons."""
    if pixels.shape[0] == size and pixels.shape[1] == size:
        return np.ascontiguousarray(pixels)
    image = _pil()
    img = image.fromarray(np.ascontiguousarray(pixels))
    return np.asarray(img.resize((size, size), image.Resampling.BOX), dtype=np.uint8)


def thumbnail(pixels: np.ndarray, size: int = 64) -> bytes:
    """A PNG thumbnail, upscaled with nearest-neighbour when the image is tiny."""
    image = _pil()
    img = image.fromarray(np.ascontiguousarray(pixels))
    if max(img.size) < size:
        scale = max(1, size // max(img.size))
        img = img.resize((img.size[0] * scale, img.size[1] * scale), image.Resampling.NEAREST)
    else:
        img.thumbnail((size, size))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def phash(pixels: np.ndarray) -> int:
    """The 64-bit perceptual hash (DCT pHash, imagehash's definition) as an unsigned int."""
    imagehash = optional_import("imagehash", extra="images", purpose="perceptual hashing")
    h = imagehash.phash(_pil().fromarray(np.ascontiguousarray(pixels)))
    return int(str(h), 16)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def to_base64_png(pixels: np.ndarray) -> str:
    """uint8 H x W x 3 -> base64 text of its PNG (how a prompt carries an init image)."""
    import base64

    return base64.b64encode(encode_png(np.ascontiguousarray(pixels))).decode("ascii")


def from_base64_png(data: str) -> np.ndarray:
    """The inverse of :func:`to_base64_png` (any image format Pillow reads)."""
    import base64

    return decode(base64.b64decode(data))
