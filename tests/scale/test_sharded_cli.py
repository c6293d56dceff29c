"""`index build-sharded` with the local executor: parts listed by one manifest, opened whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regurgitate.cli.main import main
from regurgitate.corpus.readers import read_corpus
from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.index import CorpusIndex, build_index


def test_build_sharded_locally_then_check(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    inputs = []
    for k in range(3):
        p = tmp_path / f"in{k}.jsonl"
        p.write_text("".join(json.dumps({"text": f"part {k} line {i} shared words here"}) + "\n"
                             for i in range(5)), encoding="utf-8")
        inputs.append(str(p))
    try:
        main(["index", "build-sharded", *inputs, "-o", str(tmp_path / "idx"), "--parts", "2"])
    except SystemExit as exc:
        assert not exc.code
    out = capsys.readouterr().out
    assert "15 documents" in out and "2 part(s)" in out
    whole = CorpusIndex.open(tmp_path / "idx", verify=True)
    build_index(read_corpus([Path(p) for p in inputs]), tmp_path / "one", ByteTokenizer())
    one = CorpusIndex.open(tmp_path / "one")
    q = [int(t) for t in one.tokenizer.encode("line 3 shared words here")]
    assert whole.num_shards == 2 and whole.num_docs == one.num_docs == 15
    assert whole.maximal_spans(q, min_tokens=4) == one.maximal_spans(q, min_tokens=4)
    assert whole.occurrences(q, limit=20) == one.occurrences(q, limit=20)
    with pytest.raises(SystemExit) as err:
        main(["index", "build-sharded", *inputs, "-o", str(tmp_path / "x"), "--parts", "4"])
    assert err.value.code == 2
