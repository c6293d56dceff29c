"""Where the bundled image reference lives, and a clear error when it is missing."""

from __future__ import annotations

from pathlib import Path

from regurgitate.errors import ConfigError

REBUILD_COMMAND = "python -m tools.reference_build.image.build"


def data_dir() -> Path:
    """The package folder holding the reference images, manifest and diffusion model."""
    return Path(__file__).resolve().parent / "data"


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise ConfigError(f"the image reference {what} is missing ({path})",
                          hint=f"rebuild it with: {REBUILD_COMMAND} (in a clone of the repository)")
    return path


def model_dir() -> Path:
    """The diffusion model folder (``unet/``, ``scheduler/``, ``class_labels.json``)."""
    path = _require(data_dir() / "model", "model")
    _require(path / "unet" / "config.json", "model config")
    return path


def images_dir() -> Path:
    """The folder with ``images.npz`` and ``manifest.json``."""
    _require(data_dir() / "images.npz", "training images")
    return _require(data_dir() / "manifest.json", "image manifest").parent
