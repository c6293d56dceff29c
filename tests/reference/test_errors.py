"""Missing or broken reference files give clear errors that name the rebuild command."""

from __future__ import annotations

import json

import pytest
import zstandard

from regurgitate.errors import ConfigError, CorpusError
from regurgitate.reference import REBUILD_COMMAND, data_dir
from regurgitate.reference.text.manifest import read_manifest
from regurgitate.reference.text.paths import require
from regurgitate.reference.text.reader import iter_corpus_file


def test_missing_file_names_rebuild_command(tmp_path):
    with pytest.raises(ConfigError) as err:
        require(tmp_path / "corpus.jsonl.zst", "corpus")
    assert REBUILD_COMMAND in str(err.value)
    assert err.value.exit_code == 2


def test_bad_manifest_is_config_error(tmp_path):
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps({"items": [{"id": "x", "kind": "bogus", "text": "t",
                                          "copies": 1}]}))
    with pytest.raises(ConfigError, match="unknown kind"):
        read_manifest(bad)
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="rebuild"):
        read_manifest(bad)


def test_bad_corpus_line_reports_line(tmp_path):
    path = tmp_path / "c.jsonl.zst"
    raw = b'{"id": "a", "text": "ok"}\n{"id": "b"}\n'
    path.write_bytes(zstandard.ZstdCompressor().compress(raw))
    docs = iter_corpus_file(path)
    assert next(docs).text == "ok"
    with pytest.raises(CorpusError) as err:
        next(docs)
    assert err.value.line == 2


def test_data_dir_is_inside_the_package():
    assert data_dir().name == "data"
    assert (data_dir() / "NOTICE").is_file()
