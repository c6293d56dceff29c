"""Fuzzing (issue 9): arbitrary Unicode through the untrusted-text views, the run store,
the corpus readers and both renderers. Nothing crashes; nothing raw reaches an output."""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regurgitate.corpus.readers import read_corpus
from regurgitate.errors import CorpusError
from regurgitate.store import RunStore
from regurgitate.types import Generation, GenerationSettings, Prompt, RunSpec
from regurgitate.untrusted import html_visible, marked, recover, storable, visible

from .strategies import text

FUZZ = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f"
                 "\ufeff\ud800-\udfff]")


@FUZZ
@given(text)
def test_views_never_pass_controls_through(s: str) -> None:
    for shown in (visible(s), visible(s, keep_newlines=True), str(html_visible(s)), marked(s)):
        assert not RAW.search(shown)
        shown.encode("utf-8")  # always encodable
    assert "\n" not in visible(s) and "\t" not in visible(s)
    clean, raw = storable(s)
    clean.encode("utf-8")
    assert (raw is None and clean == s) or (raw is not None and recover(raw) == s)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunStore]:
    with RunStore.open(tmp_path_factory.mktemp("fuzz") / "fuzz.db") as s:
        s.init_run(RunSpec(target="fuzz", attacks=("fuzz",), index=None))
        yield s


@FUZZ
@given(text=text, error=st.one_of(st.none(), text), finish=st.one_of(st.none(), text))
def test_store_accepts_any_generation(store: RunStore, text: str, error: str | None,
                                      finish: str | None) -> None:
    pid = uuid.uuid4().hex
    store.add_prompts([Prompt(id=pid, attack="fuzz", text="p",
                              settings=GenerationSettings())])
    store.add_generations([Generation(prompt_id=pid, text=text, error=error,
                                      finish_reason=finish)])
    got = next(it for it in store.generations(ok_only=False) if it.prompt.id == pid)
    assert got.generation.text == storable(text)[0]
    assert got.generation.error == (None if error is None else storable(error)[0])
    raws = store.get_meta(f"text_repaired:{pid}")
    if storable(text)[1] is not None:
        assert recover(raws["text"]) == text


@FUZZ
@given(records=st.lists(text, min_size=1, max_size=4), raw=st.binary(max_size=300))
def test_corpus_readers_yield_documents_or_corpus_errors(records: list[str], raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        # ensure_ascii: lone surrogates travel as \ud800 escapes, as real JSONL files hold them
        (d / "c.jsonl").write_text("".join(json.dumps({"text": r}) + "\n" for r in records),
                                   encoding="utf-8")
        (d / "docs").mkdir()
        (d / "docs" / "a.txt").write_bytes(raw)
        (d / "docs" / "b.txt").write_bytes(records[0].encode("utf-8", "surrogatepass"))
        for path in (d / "c.jsonl", d / "docs"):
            for on_error in ("stop", "skip"):
                try:
                    docs = list(read_corpus(path, on_error=on_error))  # type: ignore[arg-type]
                except CorpusError:
                    assert on_error == "stop"
                    continue
                for doc in docs:
                    doc.text.encode("utf-8")  # every document can be tokenized and indexed


def test_surrogate_pair_is_recovered_as_two_code_points() -> None:
    """Found by the fuzzer: a high + low surrogate stored as two code points must come back
    as two, not joined into U+10000 (as a JSON reader would join them)."""
    s = "a\ud800\udc00\\u0041"
    clean, raw = storable(s)
    assert clean == "a\ufffd\ufffd\\u0041" and raw is not None and recover(raw) == s
