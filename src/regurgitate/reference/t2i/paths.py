"""Where the bundled text-to-image reference lives, and a clear error when it is missing."""

from __future__ import annotations

from pathlib import Path

from regurgitate.errors import ConfigError

REBUILD_COMMAND = "python -m tools.reference_build.t2i.build"


def data_dir() -> Path:
    """The package folder holding the images, manifest and pipeline."""
    return Path(__file__).resolve().parent / "data"


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise ConfigError(f"the text-to-image reference {what} is missing ({path})",
                          hint=f"rebuild it with: {REBUILD_COMMAND} (in a clone of the repository)")
    return path


def pipeline_dir() -> Path:
    """The diffusers pipeline folder (``model_index.json``, ``unet/``, ``vae/``, ...)."""
    path = _require(data_dir() / "pipeline", "pipeline")
    _require(path / "model_index.json", "pipeline index")
    return path


def images_dir() -> Path:
    """The folder with ``images.npz`` and ``manifest.json``."""
    _require(data_dir() / "images.npz", "training images")
    return _require(data_dir() / "manifest.json", "image manifest").parent
