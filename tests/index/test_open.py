"""index/open.py is the one way to open an index: what --index names decides how it is
opened, and a caller that needs one modality gets a clear refusal for the other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.errors import ConfigError
from regurgitate.index import build_index
from regurgitate.index.open import (
    check_modality,
    index_argument,
    index_modality,
    is_remote,
    names_reference,
    open_index,
    open_text_index,
)
from regurgitate.index.query import CorpusIndex
from regurgitate.types import Document


def test_what_index_names() -> None:
    assert is_remote("http://127.0.0.1:1/?index=x") and is_remote("https://h/x")
    assert not is_remote("httpdir") and not is_remote(Path("http:")) and not is_remote(None)
    assert names_reference("reference") and not names_reference(Path("reference"))
    assert index_argument("reference") == "reference"
    assert index_argument("http://h/?index=a") == "http://h/?index=a"
    assert index_argument("./reference") == Path("reference")
    assert index_argument(None) is None


def test_a_local_corpus_index_opens_as_text(tmp_path: Path) -> None:
    build_index([Document("the cat sat on the mat")], tmp_path / "ix", ByteTokenizer())
    assert index_modality(tmp_path / "ix") == "text"
    index = open_text_index(tmp_path / "ix")
    assert isinstance(index, CorpusIndex) and index.num_docs == 1
    with pytest.raises(ConfigError, match="a text index, and an image scan needs") as err:
        open_index(tmp_path / "ix", modality="image", why="an image scan needs one")
    assert "build-images" in (err.value.hint or "")


def test_an_image_index_is_refused_where_text_is_needed(tmp_path: Path) -> None:
    # the modality is read from meta.json before anything heavy is opened
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "meta.json").write_text(
        json.dumps({"format": "regurgitate-image-index/1"}))
    assert index_modality(tmp_path / "img") == "image"
    check_modality(tmp_path / "img", "image")
    with pytest.raises(ConfigError, match="is a training-image index, and a text index is "
                       "needed here"):
        open_text_index(tmp_path / "img")


def test_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no index directory there"):
        open_index(tmp_path / "nope")
