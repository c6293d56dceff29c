"""Open the index a scan is given, text or image, by what its manifest says.

A corpus index (``manifest.json``, or an http(s) URL of an index server) answers text
questions (:class:`~regurgitate.index.query.CorpusIndex`, or
:class:`~regurgitate.index.remote.RemoteIndex` for a URL); a training-image index (``meta.json``
whose format is ``regurgitate-image-index/...``) is an
:class:`~regurgitate.images.index.ImageIndex`. Both declare their ``modality``.
:func:`open_index` is the one function that opens an index, for scans and commands alike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regurgitate.errors import ConfigError
from regurgitate.types import Modality

if TYPE_CHECKING:
    from regurgitate.images.index import ImageIndex
    from regurgitate.index.query import CorpusIndex
    from regurgitate.index.remote import RemoteIndex

IMAGE_FORMAT_PREFIX = "regurgitate-image-index/"


#: what ``--index`` takes to name the bundled reference index (``./reference`` is a folder)
REFERENCE_INDEX_NAME = "reference"


def names_reference(index: Path | str | None) -> bool:
    """Whether ``--index`` names the bundled reference index (the word ``reference``)."""
    return isinstance(index, str) and index == REFERENCE_INDEX_NAME


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


def open_index(spec: str | Path, *, modality: Modality | None = None, tokenizer: Any = None,
               token_dtype: str | None = None,
               verify: bool = False) -> CorpusIndex | RemoteIndex | ImageIndex:
    """The index at ``spec``, the one way regurgitate opens an index: a training-image index
    directory, an index server's http(s) URL (:class:`RemoteIndex`, with ``tokenizer``) or a
    local corpus index (``tokenizer``, ``token_dtype`` and ``verify`` as
    :meth:`CorpusIndex.open` takes them). With ``modality``, an index of the other kind is a
    ConfigError."""
    kind = index_modality(spec)
    if modality is not None and kind != modality:
        raise ConfigError(
            f"{spec} is {'a training-image' if kind == 'image' else 'a text'} index, and a "
            f"{modality} index is needed here",
            hint="build a training-image index with: regurgitate index build-images"
            if modality == "image" else "build a corpus index with: regurgitate index build")
    if kind == "image":
        from regurgitate.images.index import ImageIndex

        return ImageIndex(Path(spec))
    from regurgitate.index.remote_http import is_remote

    if is_remote(spec):
        from regurgitate.index.remote import RemoteIndex

        return RemoteIndex.open(str(spec), tokenizer=tokenizer)
    from regurgitate.index.query import CorpusIndex

    return CorpusIndex.open(spec, tokenizer=tokenizer, token_dtype=token_dtype, verify=verify)
