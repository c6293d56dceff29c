"""Open any index, text or image, local or remote: the one place regurgitate does it.

What ``--index`` (or a server's ``NAME=DIR``) names is one of:

- an http(s) URL of an index server (:func:`is_remote`, the one "is this remote" test):
  a :class:`~regurgitate.index.remote.RemoteIndex`;
- a training-image index directory (``meta.json`` whose format is
  ``regurgitate-image-index/...``): an :class:`~regurgitate.images.index.ImageIndex`;
- a local corpus index directory, opened by :func:`open_local`, the one function that reads
  a local corpus index whatever its on-disk format (it dispatches on the manifest);
- the word ``reference`` (:func:`names_reference`): the bundled reference index, which scan
  setup resolves to a directory before opening it.

:func:`index_modality` says which modality an index answers and :func:`check_modality` is the
one check that it is the one a caller needs. Every index declares its ``modality``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

from regurgitate.errors import ConfigError
from regurgitate.types import Modality

if TYPE_CHECKING:
    from regurgitate.corpus.tokenizer import Tokenizer
    from regurgitate.images.index import ImageIndex
    from regurgitate.index.query import CorpusIndex
    from regurgitate.index.remote import RemoteIndex

IMAGE_FORMAT_PREFIX = "regurgitate-image-index/"
#: the URL schemes of an index server
REMOTE_SCHEMES = ("http://", "https://")
#: what ``--index`` takes to name the bundled reference index (``./reference`` is a folder)
REFERENCE_INDEX_NAME = "reference"


def is_remote(spec: str | Path | None) -> bool:
    """Whether ``spec`` names an index server (an http(s) URL), not a local directory."""
    return spec is not None and str(spec).startswith(REMOTE_SCHEMES)


def names_reference(index: Path | str | None) -> bool:
    """Whether ``--index`` names the bundled reference index (the word ``reference``)."""
    return isinstance(index, str) and index == REFERENCE_INDEX_NAME


def index_argument(value: str | None) -> Path | str | None:
    """What a command's ``--index`` value stands for: a URL or the word ``reference`` as given,
    anything else as a local path."""
    if value is None or is_remote(value) or names_reference(value):
        return value
    return Path(value)


def index_modality(spec: str | Path) -> Modality:
    """``"image"`` for a training-image index directory, else ``"text"`` (a corpus index, a
    server URL, or a path that opening will report on)."""
    if is_remote(spec):
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


def check_modality(spec: str | Path, modality: Modality, *, why: str | None = None) -> None:
    """A ConfigError unless the index at ``spec`` answers ``modality`` questions; ``why`` says
    what needs that modality (default: "a text/image index is needed here")."""
    kind = index_modality(spec)
    if kind == modality:
        return
    raise ConfigError(
        f"{spec} is {'a training-image' if kind == 'image' else 'a text'} index, and "
        f"{why or f'a {modality} index is needed here'}",
        hint="build a training-image index with: regurgitate index build-images"
        if modality == "image" else "build a corpus index with: regurgitate index build")


def open_local(path: str | Path, *, tokenizer: Tokenizer | None = None,
               token_dtype: str | None = None, verify: bool = False) -> CorpusIndex:
    """The local corpus index at ``path`` (``tokenizer``, ``token_dtype`` and ``verify`` as
    :meth:`CorpusIndex.open` takes them). Every local corpus index is opened here, so a new
    on-disk format is dispatched here, by its manifest."""
    from regurgitate.index.query import CorpusIndex

    return CorpusIndex.open(path, tokenizer=tokenizer, token_dtype=token_dtype, verify=verify)


def open_image_index(path: str | Path) -> ImageIndex:
    """The training-image index at ``path``."""
    from regurgitate.images.index import ImageIndex

    return ImageIndex(Path(path))


def open_index(spec: str | Path, *, modality: Modality | None = None,
               tokenizer: Tokenizer | None = None, token_dtype: str | None = None,
               verify: bool = False,
               why: str | None = None) -> CorpusIndex | RemoteIndex | ImageIndex:
    """The index at ``spec``: a training-image index directory, an index server's http(s) URL
    (:class:`RemoteIndex`, with ``tokenizer``) or a local corpus index (:func:`open_local`).
    With ``modality``, an index of the other kind is a ConfigError (:func:`check_modality`)."""
    if modality is not None:
        check_modality(spec, modality, why=why)
    if index_modality(spec) == "image":
        return open_image_index(spec)
    if is_remote(spec):
        from regurgitate.index.remote import RemoteIndex

        return RemoteIndex.open(str(spec), tokenizer=tokenizer)
    return open_local(spec, tokenizer=tokenizer, token_dtype=token_dtype, verify=verify)


def open_text_index(spec: str | Path, *, tokenizer: Tokenizer | None = None,
                    token_dtype: str | None = None, verify: bool = False,
                    why: str | None = None) -> CorpusIndex | RemoteIndex:
    """:func:`open_index` for a caller that needs a text index (a ConfigError otherwise)."""
    return cast("CorpusIndex | RemoteIndex",
                open_index(spec, modality="text", tokenizer=tokenizer, token_dtype=token_dtype,
                           verify=verify, why=why))
