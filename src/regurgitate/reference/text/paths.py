"""Where the bundled reference data lives, and a clear error when it is missing."""

from __future__ import annotations

from pathlib import Path

from regurgitate.errors import ConfigError

CORPUS_FILE = "corpus.jsonl.zst"
MANIFEST_FILE = "manifest.json"
MODEL_SUBDIR = "model"
REBUILD_COMMAND = "python -m tools.reference_build.text.build"


def data_dir() -> Path:
    """The package folder holding the reference corpus, manifest and model."""
    return Path(__file__).resolve().parent / "data"


def require(path: Path, what: str) -> Path:
    if not path.exists():
        raise ConfigError(f"the reference {what} is missing ({path})",
                          hint=f"rebuild it with: {REBUILD_COMMAND} (in a clone of the repository)")
    return path


def model_dir() -> Path:
    """The reference model + tokenizer, loadable with ``from_pretrained(model_dir())``."""
    path = require(data_dir() / MODEL_SUBDIR, "model")
    require(path / "config.json", "model config")
    require(path / "tokenizer.json", "tokenizer")
    return path


def corpus_path() -> Path:
    """The zstd-compressed JSONL reference corpus (one ``{"id", "text"}`` per line)."""
    return require(data_dir() / CORPUS_FILE, "corpus")


def manifest_path() -> Path:
    return require(data_dir() / MANIFEST_FILE, "manifest")
