"""Long texts are tokenized in pieces cut before whitespace: same ids as one piece for a
byte-level BPE, in bounded memory."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regurgitate.corpus.tokenizer import HFTokenizer, split_text

TRAIN = ("def add(a, b):\n    return a + b\n\nThe quick brown fox, jumps over the lazy dog. "
         "Ünïcode wörds and  double  spaces\ttabs\n\n") * 30


@pytest.fixture(scope="module")
def bpe(tmp_path_factory: pytest.TempPathFactory) -> HFTokenizer:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([TRAIN], trainer=trainers.BpeTrainer(
        vocab_size=500, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return HFTokenizer(path)


words = st.text(alphabet="abcdeö,.():+", min_size=1, max_size=6)
gaps = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", " \n  "])


@st.composite
def texts(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(words, gaps), min_size=0, max_size=60))
    return draw(gaps) * draw(st.integers(0, 1)) + "".join(w + g for w, g in parts)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(texts(), min_size=1, max_size=4), chunk=st.integers(16, 64))
def test_pieces_give_the_same_ids(bpe: HFTokenizer, batch: list[str], chunk: int) -> None:
    whole = bpe._encode(batch)
    small = HFTokenizer(bpe.file)
    small.max_chunk_chars = chunk
    got = small.encode_batch(batch)
    assert [g.tolist() for g in got] == [w.tolist() for w in whole]
    for text in batch:
        pieces = split_text(text, chunk)
        assert "".join(pieces) == text and all(len(p) <= chunk for p in pieces)


def test_text_without_whitespace_is_still_cut(bpe: HFTokenizer) -> None:
    text = "x" * 1000
    pieces = split_text(text, 64)
    assert "".join(pieces) == text and max(map(len, pieces)) == 64
    small = HFTokenizer(bpe.file)
    small.max_chunk_chars = 64
    assert bpe.decode(small.encode(text)) == text


def test_empty_texts(bpe: HFTokenizer, tmp_path: Path) -> None:
    assert [a.tolist() for a in bpe.encode_batch(["", "a b", ""])] == \
        [[], bpe._encode(["a b"])[0].tolist(), []]
