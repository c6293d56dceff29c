"""`regurgitate check` of repetitive text costs about what plain text of its size costs.

A model told to repeat a word writes thousands of copies of it; a corpus holding a long run
of that word then matches every period of the output. Such text must cost about what
ordinary text of the same size costs, and its report must stay about the input's size (one
periodic run, not one span with its text per period). Measured in CPU seconds of this
process (not wall time: the machine may be shared), best of a few tries, with a wide margin.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.index import CorpusIndex, build_index
from regurgitate.types import Document

from .conftest import RunCli

SIZE = 30_000  # characters checked (the case is 100 KB; the ratio grows with it)
RUN = "poem " * 3000  # 15 KB repeated run held by the corpus


def _words(rng: random.Random, n: int) -> str:
    return " ".join("".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(2, 8)))
                    for _ in range(n))


@pytest.fixture(scope="module")
def index_and_texts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    rng = random.Random(27)
    corpus = [_words(rng, 400) for _ in range(120)]
    path = tmp_path_factory.mktemp("cost") / "idx"
    build_index([Document(t) for t in corpus + [RUN]], path, ByteTokenizer())
    # plain: fresh words with every other 2 KB piece copied from the corpus (spans to find)
    parts: list[str] = []
    while sum(map(len, parts)) < SIZE:
        parts.append(corpus[len(parts)][:2000] if len(parts) % 2 else _words(rng, 330)[:2000])
    plain = "".join(parts)[:SIZE]
    repeated = ("poem " * (SIZE // 5 + 1))[:SIZE]
    return path, plain, repeated


def _check(run_cli: RunCli, index: Path, file: Path) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(3):
        t0 = time.process_time()
        code, out, err = run_cli(["check", str(file), "--index", str(index), "--json"])
        best = min(best, time.process_time() - t0)
        assert code == 0, err
    return best, out


def test_repeated_text_costs_about_what_plain_text_costs(
        tmp_path: Path, run_cli: RunCli, index_and_texts: tuple[Path, str, str]) -> None:
    index, plain, repeated = index_and_texts
    (tmp_path / "plain.txt").write_text(plain, encoding="utf-8")
    (tmp_path / "rep.txt").write_text(repeated, encoding="utf-8")
    _check(run_cli, index, tmp_path / "plain.txt")  # warm-up: compiled kernels, page cache
    t_plain, out_plain = _check(run_cli, index, tmp_path / "plain.txt")
    t_rep, out_rep = _check(run_cli, index, tmp_path / "rep.txt")
    assert json.loads(out_plain)["span_count"] > 0
    data = json.loads(out_rep)
    # one periodic run stands for every span: the corpus run, one per period
    assert data["spans"] == [] and len(data["runs"]) == 1
    run = data["runs"][0]
    assert run["unit"] in {"poem ", "oem p", "em po", "m poe", " poem"}
    assert run["span_chars"] == len(RUN) and run["spans"] == data["span_count"]
    assert (run["start"], run["end"]) == (0, SIZE - (SIZE - len(RUN)) % 5)
    ix = CorpusIndex.open(index)
    body = (run["unit"] * (run["span_chars"] // run["period_chars"] + 1))[:run["span_chars"]]
    assert ix.count(ix.tokenizer.encode(body)) == run["count"] == 1
    assert len(out_rep.encode()) < 10 * SIZE
    assert t_rep <= 5 * t_plain, (t_rep, t_plain)
