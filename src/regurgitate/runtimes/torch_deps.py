"""torch with diffusers, imported on first use, or an error naming the extra to install."""

from __future__ import annotations

from typing import Any

from regurgitate.errors import MissingDependencyError


def diffusion_torch(what: str) -> Any:
    """The ``torch`` module once both torch and diffusers import; ``what`` names the part of
    the tool that needs them in the MissingDependencyError (extra ``images``)."""
    try:
        import diffusers  # noqa: F401
        import torch
    except ImportError as exc:
        name = "diffusers" if "diffusers" in str(exc) else "torch"
        raise MissingDependencyError(name, "images", what) from exc
    return torch
