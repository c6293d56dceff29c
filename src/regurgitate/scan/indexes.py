"""Open the index a scan is given, text or image, by what its manifest says.

A corpus index (``manifest.json``, or an http(s) URL of an index server) answers text
questions and is opened by :func:`regurgitate.index.remote.open_index`; a training-image index
(``meta.json`` whose format is ``regurgitate-image-index/...``) by
:class:`regurgitate.images.index.ImageIndex`. Both declare their ``modality``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regurgitate.types import Modality

if TYPE_CHECKING:
    from regurgitate.images.index import ImageIndex
    from regurgitate.index.query import CorpusIndex
    from regurgitate.index.remote import RemoteIndex

IMAGE_FORMAT_PREFIX = "regurgitate-image-index/"


def index_modality(spec: str | Path) -> Modality:
    """``"image"`` for a training-image index directory, else ``"text"`` (a corpus index, a
    server URL, or a path that opening will report on)."""
    if str(spec).startswith(("http://", "https://")):
        return "text"
    path = Path(spec)
    if (path / "manifest.json").is_file():
        return "text"
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "text"
    fmt = meta.get("format") if isinstance(meta, dict) else None
    return "image" if isinstance(fmt, str) and fmt.startswith(IMAGE_FORMAT_PREFIX) else "text"


def open_index(spec: str | Path, **kwargs: Any) -> CorpusIndex | RemoteIndex | ImageIndex:
    """The index at ``spec``: a text index (local or remote) or a training-image index."""
    if index_modality(spec) == "image":
        from regurgitate.images.index import ImageIndex

        return ImageIndex(Path(spec))
    from regurgitate.index.remote import open_index as open_text_index

    index: CorpusIndex | RemoteIndex = open_text_index(spec, **kwargs)
    return index
