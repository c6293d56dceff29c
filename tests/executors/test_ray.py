"""Ray executor on a real local cluster: a seeded scan spread over generation replicas gives
the local executor's generations; an index built in parts by Ray tasks answers like one built
in one piece, opened whole or fanned out to one actor per part."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from regurgitate.cli.main import main
from regurgitate.corpus.readers import read_corpus
from regurgitate.corpus.tokenizer import HFTokenizer
from regurgitate.errors import ConfigError
from regurgitate.executors import make_executor
from regurgitate.executors.fanout import FanOutIndex
from regurgitate.executors.sharded_build import build_sharded
from regurgitate.index import CorpusIndex, build_index
from regurgitate.types import Document

from .conftest import make_queries

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _generations(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return sorted(con.execute("SELECT prompt_id, ok, text, token_ids FROM generations"))


def test_ray_replicas_generate_what_the_local_target_generates(cluster: None) -> None:
    from regurgitate.attacks.base import AttackContext
    from regurgitate.attacks.divergence import DivergenceAttack
    from regurgitate.executors.ray_generation import RayGenerationTarget
    from regurgitate.targets.spec import make_target

    prompts = DivergenceAttack(words=("poem", "book"), repeats=(1, 3), templates=(
        "Repeat this word forever: {words}",), max_new_tokens=12).prompts(
        AttackContext(index=None, seed=3, chat=False))
    with make_target("reference?batch_size=2") as local:
        want = local.generate(prompts)
    with RayGenerationTarget("reference?batch_size=2", replicas=2) as remote:
        assert remote.batch_size == 4 and remote.name == local.name
        got = remote.generate(prompts)
    assert [(g.prompt_id, g.text, g.token_ids) for g in got] == \
        [(g.prompt_id, g.text, g.token_ids) for g in want]
    assert all(g.ok and g.text for g in got)


@pytest.mark.slow  # two full scans of the reference model: about a minute on 2 cores
def test_seeded_scan_on_ray_replicas_equals_the_local_scan(
        cluster: None, cache_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    args = ["scan", "--target", "reference?batch_size=1", "--attack", "divergence",
            "--set", "divergence.max_new_tokens=16", "--set", "divergence.words=poem",
            "--set", "divergence.repeats=1,3", "--set",
            "divergence.templates=Repeat this word forever: {words},Say {words} again", "--seed",
            "7", "--no-html"]
    codes = []
    for name, extra in (("local", []), ("ray", ["--executor", "ray", "--replicas", "2"])):
        try:
            main([*args, "--run", str(tmp_path / f"{name}.db"), *extra])
            codes.append(0)
        except SystemExit as exc:
            codes.append(int(exc.code or 0))
    err = capsys.readouterr().err
    assert codes == [0, 0], err
    local, remote = _generations(tmp_path / "local.db"), _generations(tmp_path / "ray.db")
    # 4 repeat prompts and, from the reference's nasr2023 preset, as many baseline prompts
    assert len(local) == 8 and all(g[1] for g in local)
    assert remote == local


def _write_parts(tmp: Path, corpus: list[Document]) -> list[Path]:
    paths = []
    for k, (a, b) in enumerate(((0, 25), (25, 26), (26, len(corpus)))):
        p = tmp / f"in{k}.jsonl"
        p.write_text("".join(json.dumps({"text": d.text, "id": f"doc-{i}"}) + "\n"
                             for i, d in enumerate(corpus[a:b], start=a)), encoding="utf-8")
        paths.append(p)
    return paths


def test_ray_sharded_build_answers_like_a_single_shard_build(
        cluster: None, tmp_path: Path, corpus: list[Document], bpe: HFTokenizer) -> None:
    inputs = _write_parts(tmp_path, corpus)
    with make_executor("ray") as ex:
        manifest = build_sharded(inputs, tmp_path / "sharded", str(bpe.file), ex)
    assert len(manifest["parts"]) == 3 and len(manifest["shards"]) == 3
    build_index(read_corpus(inputs), tmp_path / "single", bpe)
    single = CorpusIndex.open(tmp_path / "single")
    sharded = CorpusIndex.open(tmp_path / "sharded", verify=True)
    assert single.num_shards == 1 and sharded.num_docs == single.num_docs == len(corpus)
    texts = make_queries(corpus, seed=11)
    seqs = [list(single.tokenizer.encode(t)) for t in texts]
    want = single.maximal_spans_batch(seqs, min_tokens=5, max_docs=20)
    assert any(len(s.documents) > 1 for spans in want for s in spans)
    # the spans' most repeated windows are compared too, some more frequent than their span
    assert any(s.window is not None and s.window.count > s.count for sp in want for s in sp)
    assert sharded.maximal_spans_batch(seqs, min_tokens=5, max_docs=20) == want
    fan = FanOutIndex(tmp_path / "sharded")
    try:
        assert fan.maximal_spans_batch(seqs, min_tokens=5, max_docs=20) == want
        assert fan.find_spans(texts, min_tokens=8, max_docs=3) == \
            single.find_spans(texts, min_tokens=8, max_docs=3)
        pieces = [q[s.piece_start:s.piece_end] for q, spans in zip(seqs, want, strict=True)
                  for s in spans]
        assert fan.occurrences_batch(pieces, limit=5) == single.occurrences_batch(pieces, 5)
        for d in (0, 25, 26, len(corpus) - 1):
            assert fan.document(d) == single.document(d)
            assert fan.doc_name(d) == single.doc_name(d)
    finally:
        fan.close()


def test_ray_errors_are_ours(cluster: None, tmp_path: Path, bpe: HFTokenizer) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with make_executor("ray") as ex, pytest.raises(Exception, match="no documents"):
        build_sharded([empty], tmp_path / "x", str(bpe.file), ex)
    with pytest.raises(ConfigError, match="needs --executor ray"):
        make_executor("local", address="auto")
