"""The trace engine on the bundled reference index: spans equal `check --json`'s, sources
name the corpus's own ids with context, and each failure is a clear error (no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regurgitate import reference
from regurgitate.errors import ConfigError, IndexUnavailableError

from .conftest import check_json, make_engine


def _text() -> str:
    m = reference.load_manifest()
    x1 = m.by_kind("passage")[0]
    x100 = [it for it in m.by_kind("passage") if it.copies == 100][0]
    return (f"Here you are: {x1.text}\nAnd another: {x100.text}\nThat is all, "
            f"{m.by_kind('pii')[0].text}\n{m.by_kind('heldout')[0].text}")


def test_spans_and_works_equal_check_json(reference_idx: Path, tmp_path: Path,
                                          run_cli) -> None:
    text = _text()
    expected = check_json(run_cli, tmp_path, reference_idx, text)
    engine = make_engine(reference_idx)
    answer = engine.trace_text(text).data
    got = answer["check"]
    for key in ("spans", "runs", "coverage", "covered_chars", "covered_share", "span_count",
                "tokens", "chars", "min_tokens", "seed_tokens"):
        assert got[key] == expected[key], key
    assert len(expected["spans"]) >= 3
    # ranked longest first, then rarest; every span and run once
    ranked = answer["ranked"]
    assert sorted((r["start"], r["end"]) for r in ranked) == sorted(
        (s["start"], s["end"]) for s in expected["spans"] + expected["runs"])
    keys = [(-r["tokens"], r["count"]) for r in ranked]
    assert keys == sorted(keys)
    # the works step gives check's works and verdict
    works = engine.works(answer["id"])
    assert works["verdict"] == expected["verdict"]
    assert works["works"] == expected["works"]
    # PII of the planted record: found in the corpus, inside a verbatim span
    emails = [p for p in answer["pii"] if p["type"] == "email"]
    assert emails and emails[0]["leaked"] and emails[0]["in_span"]


def test_sources_are_corpus_ids_with_the_match_in_context(reference_idx: Path) -> None:
    item = [it for it in reference.load_manifest().by_kind("passage") if it.copies == 10][0]
    engine = make_engine(reference_idx)
    answer = engine.trace_text("Quoting it: " + item.text).data
    top = answer["ranked"][0]
    span = answer["check"]["spans"][top["index"]]
    got = engine.sources(answer["id"], span["token_start"], span["token_end"],
                         span["doc_ids"])
    assert got["count"] == 10 == span["count"]
    assert sorted(s["id"] for s in got["sources"]) == sorted(item.doc_ids)
    for s in got["sources"]:
        assert s["match"].strip() == span["text"].strip()
        assert s["before"] or s["after"]  # the context around it


def test_oversized_text_missing_index_and_dead_target_are_clear_errors(
        reference_idx: Path, tmp_path: Path) -> None:
    engine = make_engine(reference_idx, max_chars=1000)
    with pytest.raises(ConfigError, match="1,001 characters long; this page traces at most "
                                          "1,000"):
        engine.trace_text("x" * 1001)
    assert engine.trace_text("x" * 1000).data["check"]["chars"] == 1000  # it goes on
    missing = make_engine(tmp_path / "nowhere")
    assert missing.index_status()["ok"] is False
    with pytest.raises(IndexUnavailableError, match="cannot be opened"):
        missing.trace_text("some text")
    with pytest.raises(ConfigError, match="answer 'trace-9' is not held"):
        engine.answer("trace-9")


def test_saved_session_opens_with_report_and_exports_the_same_packets(
        reference_idx: Path, tmp_path: Path, run_cli) -> None:
    from regurgitate.trace.session import evidence_packets, save_session

    engine = make_engine(reference_idx)
    answer = engine.trace_text(_text())
    packets = evidence_packets(engine, answer)
    assert packets and all("<script" not in p["html"].lower() for p in packets)
    run = save_session(engine, [answer], tmp_path / "trace.db")
    code, out, err = run_cli(["report", str(run)])
    assert code == 0, err
    assert "trace" in out
    code, _, err = run_cli(["export", str(run), "--format", "evidence", "-o",
                            str(tmp_path / "ev"), "--index", str(reference_idx)])
    assert code == 0, err
    exported = json.loads((tmp_path / "ev" / "0001.json").read_text(encoding="utf-8"))
    ours = {k: v for k, v in packets[0].items() if k != "html"}
    assert set(ours) == set(exported)
    for key in ("text", "tokens", "corpus_count", "span_start", "span_end", "rarity"):
        assert ours[key] == exported[key], key
    assert [s["id"] for s in ours["sources"]] == [s["id"] for s in exported["sources"]]
    with pytest.raises(ConfigError, match="exists"):
        save_session(engine, [answer], run)


def test_a_remote_index_traces_and_reads_sources_like_the_local_one(hostile_idx: Path) -> None:
    """Through the one opener, an index server's URL gives the spans and sources the local
    index gives."""
    from regurgitate.index import CorpusIndex
    from regurgitate.index.server import BackgroundServer, IndexService

    from .conftest import PLANTED

    text = "Reported: " + PLANTED + " (end)"
    local = make_engine(hostile_idx)
    want = local.trace_text(text).data
    with BackgroundServer(IndexService({"evil": CorpusIndex.open(hostile_idx)})) as url:
        remote = make_engine(f"{url}?index=evil")
        got = remote.trace_text(text).data
        assert got["check"]["spans"] == want["check"]["spans"]
        span = got["check"]["spans"][0]
        args = (span["token_start"], span["token_end"], span["doc_ids"])
        assert remote.sources(got["id"], *args) == local.sources(want["id"], *args) | {
            "answer": got["id"]}
        remote.close()


def test_a_sharded_index_gives_the_spans_of_one_shard(hostile_idx: Path, tmp_path: Path) -> None:
    """The same documents in several shards: the same spans, counts and sources."""
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index import CorpusIndex, build_index

    from .conftest import PLANTED, hostile_docs

    sharded = tmp_path / "sharded"
    build_index(hostile_docs(), sharded, load_tokenizer(reference.model_dir()),
                shard_tokens=300)
    assert CorpusIndex.open(sharded).num_shards > 1
    text = "Reported: " + PLANTED
    one, many = make_engine(hostile_idx), make_engine(sharded)
    a, b = one.trace_text(text).data, many.trace_text(text).data
    assert a["check"]["spans"] == b["check"]["spans"] and a["check"]["spans"]
    span = a["check"]["spans"][0]
    args = (span["token_start"], span["token_end"], span["doc_ids"])
    assert one.sources(a["id"], *args)["sources"] == many.sources(b["id"], *args)["sources"]
