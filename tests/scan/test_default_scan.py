"""The embedded default: `regurgitate scan` with no target scans the bundled reference model
against its own corpus; the verdicts are checked against the manifest of planted items."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from regurgitate import reference
from regurgitate.cli.main import main
from regurgitate.index import CorpusIndex
from regurgitate.store import RunStore


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> dict:
    out = tmp_path_factory.mktemp("default-scan")
    mp = pytest.MonkeyPatch()
    mp.chdir(out)
    try:
        try:
            main(["scan"])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    finally:
        mp.undo()
    return {"code": code, "dir": out}


def test_default_scan_writes_run_and_report(default_run: dict) -> None:
    assert default_run["code"] == 0
    out = default_run["dir"] / "regurgitate-out"
    assert (out / "reference.db").is_file()
    html = (out / "reference.html").read_text(encoding="utf-8")
    assert "verbatim" in html.lower()


def test_default_scan_matches_the_manifest(default_run: dict) -> None:
    manifest = reference.load_manifest()
    items = {item.id: item for item in manifest.items}
    with RunStore.open(default_run["dir"] / "regurgitate-out" / "reference.db",
                       create=False) as store:
        index = CorpusIndex.open(Path(store.spec().index))
        gens = {it.generation_id: it for it in store.generations(attack="discoverable")}
        verbatim = defaultdict(list)
        for f in store.findings(kind="verbatim"):
            verbatim[f.generation_id].append(f)
        disc = {f.generation_id: f for f in store.findings(kind="discoverable")}
        pii = list(store.findings(kind="pii"))
    assert len(gens) == len(items)

    reproduced = found = 0
    exact_by_copies: dict[int, list[bool]] = defaultdict(list)
    leaked_items = set()
    for gid, it in gens.items():
        item = items[it.prompt.meta["passage_id"]]
        exact = bool(disc[gid].payload.exact)
        if item.kind == "heldout":
            # never reported as verbatim: no span of its generation is text of the passage
            for f in verbatim[gid]:
                assert f.payload.text.strip() not in item.text
            assert not exact
            continue
        exact_by_copies[item.copies].append(exact)
        if exact:
            reproduced += 1
            sources = {index.document(d).meta["id"] for f in verbatim[gid]
                       for d in f.payload.documents}
            if sources & set(item.doc_ids):
                found += 1
                if item.kind == "pii":
                    leaked_items.add(item.id)
    assert reproduced > 0
    assert found / reproduced >= 0.9, (found, reproduced)

    rate = {c: sum(v) / len(v) for c, v in exact_by_copies.items()}
    assert rate[100] > rate[1] and rate[100] >= rate[10] >= rate[1], rate
    assert rate[100] >= 0.8, rate

    # planted PII that was regurgitated is reported as leaked (inside a verbatim span)
    leaked = [f for f in pii if f.payload.in_verbatim]
    if leaked_items:
        values = {f.payload.value for f in leaked}
        emails = {items[i].pii.email for i in leaked_items}
        assert emails & values, (emails, values)


def test_default_scan_runs_the_divergence_preset_with_a_baseline(default_run: dict) -> None:
    with RunStore.open(default_run["dir"] / "regurgitate-out" / "reference.db",
                       create=False) as store:
        items = list(store.generations(attack="divergence"))
    words = [it for it in items if "word" in it.prompt.meta]
    base = [it for it in items if it.prompt.meta.get("baseline")]
    assert words and len(base) == len(words)
    for it in items:  # the decoding controls are recorded with each prompt
        s = it.prompt.settings
        assert s.frequency_penalty == 0.5 and s.min_new_tokens == s.max_new_tokens
        assert it.generation.completion_tokens and it.generation.completion_tokens > 50
    # the reference model is a chat model: the word is repeated in its answer
    assert any(it.generation.text.lower().count(it.prompt.meta["word"]) >= 3 for it in words)
