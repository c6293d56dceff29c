"""The bundled reference corpus and reference model: ground truth for the tool.

The corpus is docstrings of the Python standard library with invented passages planted
1, 10 and 100 times and fictional PII records planted 10 and 100 times; held-out passages
of the same generator are never planted. The model is a 4.3M-parameter GPT-2-style LM
trained from scratch on it. Rebuild everything with ``python -m tools.reference_build.text.build``.
"""

from __future__ import annotations

from collections.abc import Iterator

from regurgitate.reference.text.manifest import (
    PiiFields,
    PlantedItem,
    ReferenceManifest,
    read_manifest,
)
from regurgitate.reference.text.paths import (
    REBUILD_COMMAND,
    corpus_path,
    data_dir,
    manifest_path,
    model_dir,
)
from regurgitate.reference.text.reader import iter_corpus_file
from regurgitate.types import Document

__all__ = [
    "REBUILD_COMMAND",
    "PiiFields",
    "PlantedItem",
    "ReferenceManifest",
    "corpus_path",
    "data_dir",
    "heldout",
    "iter_corpus",
    "load_manifest",
    "manifest_path",
    "model_dir",
]


def load_manifest() -> ReferenceManifest:
    """Every planted and held-out item of the bundled corpus."""
    return read_manifest(manifest_path())


def iter_corpus() -> Iterator[Document]:
    """The bundled corpus, one :class:`Document` per line, ``meta`` = source/id/line."""
    return iter_corpus_file(corpus_path())


def heldout() -> list[PlantedItem]:
    """Passages of the planting generator that were never put into the corpus."""
    return load_manifest().by_kind("heldout")
