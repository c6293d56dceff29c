"""Corpus generation (and tokenizer training) are deterministic and match what is shipped."""

from __future__ import annotations

import hashlib
import json
import platform
import random

import zstandard

from regurgitate.reference import model_dir
from regurgitate.reference.text.manifest import manifest_to_json, read_manifest
from tools.reference_build.text.background import stdlib_fingerprint, stdlib_modules, stdlib_root
from tools.reference_build.text.corpus_build import CorpusSpec, write_corpus
from tools.reference_build.text.prose import NameMaker, make_passage
from tools.reference_build.text.tokenizer_build import train_bpe


def _content_hash(path) -> str:
    raw = zstandard.ZstdDecompressor().decompress(path.read_bytes(), max_output_size=1 << 30)
    return hashlib.sha256(raw).hexdigest()


def test_prose_generator_is_seeded():
    def passages(seed: int) -> list[str]:
        rng, names = random.Random(seed), NameMaker(random.Random(seed + 1))
        return [make_passage(rng, names) for _ in range(5)]

    assert passages(7) == passages(7)
    assert passages(7) != passages(8)


def test_regenerated_corpus_matches(tmp_path, manifest):
    first = write_corpus(tmp_path / "a", CorpusSpec())
    same_stdlib = (first.build["python_version"] == manifest.build["python_version"]
                   and first.build["stdlib_fingerprint"] == manifest.build["stdlib_fingerprint"])
    # Same stdlib as the shipped build: regenerate it byte for byte. Another Python: the
    # background differs, but two builds must still agree.
    reference = manifest if same_stdlib else write_corpus(tmp_path / "b", CorpusSpec())
    assert first.build["corpus_sha256"] == reference.build["corpus_sha256"]
    assert manifest_to_json(first) == manifest_to_json(reference)
    assert _content_hash(tmp_path / "a" / "corpus.jsonl.zst") == first.build["corpus_sha256"]
    assert read_manifest(tmp_path / "a" / "manifest.json") == first


def test_stdlib_fingerprint_recorded(manifest):
    root = stdlib_root()
    files = stdlib_modules(root)
    assert files
    fingerprint = stdlib_fingerprint(root, files)
    assert fingerprint == stdlib_fingerprint(root, files)
    if manifest.build["python_version"] == platform.python_version():
        assert fingerprint == manifest.build["stdlib_fingerprint"]


def test_tokenizer_retrains_identically(corpus_docs):
    tok = train_bpe([d.text for d in corpus_docs])
    fresh = json.loads(tok.to_str())["model"]
    shipped = json.loads((model_dir() / "tokenizer.json").read_text())["model"]
    assert fresh["vocab"] == shipped["vocab"]
    assert fresh["merges"] == shipped["merges"]
    assert tok.get_vocab_size() == 4096
