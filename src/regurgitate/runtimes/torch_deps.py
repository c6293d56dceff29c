"""torch with diffusers, imported on first use, or an error naming the extra to install."""

from __future__ import annotations

from typing import Any

from regurgitate.errors import optional_import


def diffusion_torch(what: str) -> Any:
    """The ``torch`` module once both torch and diffusers import; ``what`` names the part of
    the tool that needs them in the MissingDependencyError (extra ``images``)."""
    optional_import("diffusers", extra="images", purpose=what)
    return optional_import("torch", extra="images", purpose=what)
