"""Which target specs are image targets (read without importing any image machinery)."""

from __future__ import annotations

IMAGE_SCHEMES = ("reference-image", "diffusers", "images")


def is_image_target(spec: str | None) -> bool:
    """True for ``reference-image``, ``diffusers:...`` and ``images:...``."""
    if not spec:
        return False
    head = spec.strip().partition("?")[0]
    return head == "reference-image" or head.partition(":")[0] in ("diffusers", "images")
