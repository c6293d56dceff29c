"""`index build-sharded` with the local executor: parts listed by one manifest, opened whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regurgitate.cli.main import main
from regurgitate.corpus.readers import read_corpus
from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.index import CorpusIndex, build_index


@pytest.mark.parametrize("index_format", ["sa", "fm"])
def test_build_sharded_locally_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         index_format: str) -> None:
    inputs = []
    for k in range(3):
        p = tmp_path / f"in{k}.jsonl"
        p.write_text("".join(json.dumps({"text": f"part {k} line {i} shared words here"}) + "\n"
                             for i in range(5)), encoding="utf-8")
        inputs.append(str(p))
    try:
        main(["index", "build-sharded", *inputs, "-o", str(tmp_path / "idx"), "--parts", "2",
              "--format", index_format])
    except SystemExit as exc:
        assert not exc.code
    out = capsys.readouterr().out
    assert "15 documents" in out and "2 part(s)" in out
    whole = CorpusIndex.open(tmp_path / "idx", verify=True)
    build_index(read_corpus([Path(p) for p in inputs]), tmp_path / "one", ByteTokenizer())
    one = CorpusIndex.open(tmp_path / "one")
    q = [int(t) for t in one.tokenizer.encode("line 3 shared words here")]
    assert whole.num_shards == 2 and whole.num_docs == one.num_docs == 15
    assert (whole.info["format"].startswith("regurgitate-fm-index")) == (index_format == "fm")
    assert whole.maximal_spans(q, min_tokens=4) == one.maximal_spans(q, min_tokens=4)
    assert whole.occurrences(q, limit=20) == one.occurrences(q, limit=20)
    with pytest.raises(SystemExit) as err:
        main(["index", "build-sharded", *inputs, "-o", str(tmp_path / "x"), "--parts", "4"])
    assert err.value.code == 2


def test_force_replaces_a_sharded_index_but_never_other_folders(tmp_path: Path,
                                                                 run_cli) -> None:
    inputs = []
    for k in range(2):
        p = tmp_path / f"in{k}.jsonl"
        p.write_text(json.dumps({"text": f"document {k}"}) + "\n", encoding="utf-8")
        inputs.append(str(p))
    idx = tmp_path / "idx"
    build = ["index", "build-sharded", *inputs, "-o", str(idx), "--parts", "2"]
    assert run_cli(build)[0] == 0
    assert run_cli(build)[0] == 2  # exists, no --force
    assert run_cli([*build, "--force"])[0] == 0  # its part folders are its own
    assert CorpusIndex.open(idx).num_docs == 2
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"not an index")
    code, _, err = run_cli(["index", "build-sharded", *inputs, "-o", str(photos), "--force"])
    assert code == 2 and "not an index" in err
    assert (photos / "holiday.jpg").read_bytes() == b"not an index"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
