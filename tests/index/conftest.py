"""Fixtures for the index tests: tokenizers built locally, an index directory (the helpers they
use live in :mod:`tests.index.oracle`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from regurgitate.corpus.tokenizer import HFTokenizer
from tests.executors.conftest import bpe, corpus, local_index  # noqa: F401

from .oracle import TRAIN_TEXT, WideCharTokenizer


@pytest.fixture(scope="session")
def wide_tokenizer() -> WideCharTokenizer:
    return WideCharTokenizer()


@pytest.fixture(scope="session")
def bpe_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> HFTokenizer:
    """A byte-level BPE with a few hundred ids (u16, ids above 255), trained here."""
    from tokenizers import Tokenizer as HFTok
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tok = HFTok(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([TRAIN_TEXT], trainer=trainer)
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return HFTokenizer(path, name="test-bpe")


@pytest.fixture()
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"
