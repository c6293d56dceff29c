"""Fixtures for the scale tests: a small corpus with repeated passages, its index, a tokenizer."""

from __future__ import annotations

import random

import pytest

from regurgitate.corpus.tokenizer import HFTokenizer
from regurgitate.index import CorpusIndex, build_index
from regurgitate.types import Document

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
         "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau",
         "upsilon", "phi", "chi", "psi", "omega", "river", "stone", "lamp", "orchard"]


def make_corpus(seed: int = 0, docs: int = 60) -> list[Document]:
    """Documents of random words, some holding copies of shared passages (seen 1-5 times)."""
    rng = random.Random(seed)
    passages = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60)))
                for _ in range(8)]
    out = []
    for d in range(docs):
        parts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40)))]
        if rng.random() < 0.5:
            parts.append(passages[rng.randrange(len(passages))])
        parts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 20))))
        meta = {"id": f"doc-{d}"} if d % 3 else {"path": f"src/file{d}.txt", "line": d}
        out.append(Document(text=" ".join(parts), meta=meta))
    return out


def make_queries(corpus: list[Document], seed: int = 1, n: int = 12) -> list[str]:
    """Texts mixing corpus passages (long matches) and fresh words (no match)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        pieces = []
        for _ in range(rng.randint(1, 3)):
            doc = corpus[rng.randrange(len(corpus))].text
            a = rng.randrange(max(1, len(doc) - 40))
            pieces.append(doc[a:a + rng.randint(20, 300)])
            pieces.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 6))))
        out.append(" ".join(pieces))
    return out + ["", "zzz"]


@pytest.fixture(scope="session")
def corpus() -> list[Document]:
    return make_corpus()


@pytest.fixture(scope="session")
def bpe(tmp_path_factory: pytest.TempPathFactory, corpus: list[Document]) -> HFTokenizer:
    from tokenizers import Tokenizer as HFTok
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tok = HFTok(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=350, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([d.text for d in corpus], trainer=trainer)
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return HFTokenizer(path, name="scale-bpe")


@pytest.fixture(scope="session")
def local_index(tmp_path_factory: pytest.TempPathFactory, corpus: list[Document],
                bpe: HFTokenizer) -> CorpusIndex:
    path = tmp_path_factory.mktemp("idx") / "tiny"
    # several shards, so document ids and counts cross shard boundaries
    build_index(corpus, path, bpe, shard_tokens=700)
    return CorpusIndex.open(path)

