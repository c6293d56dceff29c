"""`regurgitate dedup` strikes exactly what a brute-force reading of the semantics strikes,
keeps ids and metadata, resumes, and never writes over an input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.errors import ConfigError
from regurgitate.index.dedup import dedup_corpus


def oracle(docs: list[str], n: int, strike_all: bool = False) -> list[str]:
    """Remove every n-byte window whose bytes start earlier in the corpus (any document)."""
    data = [d.encode() for d in docs]
    first: dict[bytes, tuple[int, int]] = {}
    seen_twice: set[bytes] = set()
    for k, d in enumerate(data):
        for i in range(len(d) - n + 1):
            w = d[i:i + n]
            if w in first:
                seen_twice.add(w)
            else:
                first[w] = (k, i)
    out = []
    for k, d in enumerate(data):
        gone = [False] * len(d)
        for i in range(len(d) - n + 1):
            w = d[i:i + n]
            if first[w] != (k, i) or (strike_all and w in seen_twice):
                for j in range(i, i + n):
                    gone[j] = True
        out.append(bytes(b for b, g in zip(d, gone, strict=True) if not g).decode())
    return out


def write_jsonl(path: Path, docs: list[str]) -> None:
    path.write_text("".join(json.dumps({"id": f"r{i}", "lang": "x", "text": t}) + "\n"
                            for i, t in enumerate(docs)), encoding="utf-8")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


corpora = st.lists(st.text(alphabet="abc d", min_size=1, max_size=40).filter(str.strip),
                   min_size=1, max_size=8)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=corpora, n=st.integers(1, 6), strike_all=st.booleans())
def test_dedup_equals_the_brute_force_oracle(tmp_path_factory: pytest.TempPathFactory,
                                             docs: list[str], n: int,
                                             strike_all: bool) -> None:
    d = tmp_path_factory.mktemp("dedup")
    write_jsonl(d / "in.jsonl", docs)
    report = dedup_corpus([d / "in.jsonl"], d / "out.jsonl", ByteTokenizer(), min_tokens=n,
                          strike_all=strike_all)
    out = read_jsonl(d / "out.jsonl")
    want = oracle(docs, n, strike_all)
    assert [r["text"] for r in out] == want
    # ids and where each record came from survive (however the reader spells the id)
    assert all(f"r{i}" in str(r["id"]) and r["dedup"]["line"] == i + 1
               for i, r in enumerate(out))
    assert report.tokens_removed == sum(len(a.encode()) - len(b.encode())
                                        for a, b in zip(docs, want, strict=True))
    assert report.documents == len(docs)
    assert not (d / "out.jsonl.dedup-work").exists() and not (d / "out.jsonl.tmp").exists()


def test_dedup_resumes_and_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    docs = [f"header {i} " + "the same long shared paragraph of text " * 2 for i in range(2500)]
    write_jsonl(tmp_path / "a.jsonl", docs[:1200])
    write_jsonl(tmp_path / "b.jsonl", docs[1200:])
    inputs = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    with pytest.raises(ConfigError, match="never writes over its input"):
        dedup_corpus(inputs, tmp_path / "a.jsonl", ByteTokenizer(), min_tokens=20)
    full = dedup_corpus(inputs, tmp_path / "full.jsonl", ByteTokenizer(), min_tokens=20)
    assert full.documents_changed == 2500  # the first document repeats itself too
    assert 0 < full.tokens_removed < full.tokens_in

    # an interrupted run: work state saved after 1000 documents, output written past that
    out = tmp_path / "out.jsonl"
    calls = {"n": 0}
    import regurgitate.index.dedup as mod

    real = mod._record

    def dying(*args: object, **kw: object) -> dict:
        calls["n"] += 1
        if calls["n"] == 1500:
            raise KeyboardInterrupt
        return real(*args, **kw)  # type: ignore[arg-type]

    mod._record = dying  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            dedup_corpus(inputs, out, ByteTokenizer(), min_tokens=20)
    finally:
        mod._record = real
    assert not out.exists() and (tmp_path / "out.jsonl.tmp").exists()
    resumed = dedup_corpus(inputs, out, ByteTokenizer(), min_tokens=20)
    assert out.read_bytes() == (tmp_path / "full.jsonl").read_bytes()
    assert resumed == full


def test_dedup_with_a_bpe_tokenizer_keeps_only_the_first_copy(
        tmp_path: Path, bpe: object) -> None:
    passage = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi"
    docs = [f"river {i} stone. {passage}. lamp {i}" for i in range(3)] + ["orchard only"]
    write_jsonl(tmp_path / "in.jsonl", docs)
    report = dedup_corpus([tmp_path / "in.jsonl"], tmp_path / "out.jsonl", bpe,  # type: ignore[arg-type]
                          min_tokens=8)
    out = [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")]
    assert passage in out[0]
    # " stone. PASSAGE. lamp " repeats doc 0: struck; what differs ("river 1", "1") stays
    assert out[1:3] == ["river 11", "river 22"]
    assert out[3] == "orchard only"
    assert report.documents_changed == 2


def test_dedup_keeps_every_record_blank_and_emptied_ones_included(tmp_path: Path) -> None:
    repeated = "the same sentence appears twice here"
    docs = ["", repeated, "   \n", repeated, "unique words only", "\t"]
    src = tmp_path / "in.jsonl"
    write_jsonl(src, docs)
    out = tmp_path / "out.jsonl"
    report = dedup_corpus([src], out, ByteTokenizer(), min_tokens=8)
    records = read_jsonl(out)
    assert [r["id"] for r in records] == [f"r{i}" for i in range(len(docs))]
    assert all(r["lang"] == "x" for r in records)
    texts = [r["text"] for r in records]
    assert texts[0] == "" and texts[2] == "   \n" and texts[5] == "\t"  # kept as they were
    assert texts[1] == repeated and texts[3] == "" and texts[4] == "unique words only"
    assert report.documents == len(docs) and report.documents_blank == 3
    assert report.documents_emptied == 1 and report.documents_changed == 1
