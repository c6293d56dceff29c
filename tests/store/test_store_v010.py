"""A run database written by regurgitate 0.1.0 (tests/fixtures/v010-run.db, made by
tests/fixtures/make_v010_run.py) opens, migrates to typed findings and reports."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from regurgitate.cli.main import main
from regurgitate.findings import DiscoverableProbe, MembershipSignals, PIIHit, VerbatimSpan
from regurgitate.reports import compute_summary, load_run
from regurgitate.store import SCHEMA_VERSION, RunStore

FIXTURE = Path(__file__).parent.parent / "fixtures" / "v010-run.db"


@pytest.fixture()
def old_run(tmp_path: Path) -> Path:
    db = tmp_path / "old.db"
    shutil.copy(FIXTURE, db)  # opening migrates the file: never touch the committed copy
    return db


def test_fixture_is_a_010_database() -> None:
    conn = sqlite3.connect(f"{FIXTURE.as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        columns = {r[1] for r in conn.execute("PRAGMA table_info(findings)")}
        assert "payload_version" not in columns
    finally:
        conn.close()


def test_010_run_migrates_and_reads_typed(old_run: Path) -> None:
    with RunStore.open(old_run, create=False) as store:
        spec = store.spec()
        findings = list(store.findings())
        stats = store.stats()
    conn = sqlite3.connect(old_run)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {r[0] for r in conn.execute("SELECT DISTINCT payload_version FROM findings")} == {0}
    conn.close()
    assert spec is not None and spec.tool_version == "0.1.0"
    assert stats.findings == {"discoverable": 3, "membership": 5, "pii": 4, "verbatim": 4}
    by_kind: dict[type, list] = {}
    for f in findings:
        by_kind.setdefault(type(f.payload), []).append(f.payload)
    spans = by_kind[VerbatimSpan]
    assert all(s.tokens >= 50 and s.text and s.documents and s.sources for s in spans)
    assert all(s.token_start is None for s in spans)  # 0.1.0 did not record token ranges
    assert any(p.in_verbatim for p in by_kind[PIIHit])
    assert {p.exact for p in by_kind[DiscoverableProbe]} <= {True, False}
    assert all(m.loss is not None and m.min_k is not None for m in by_kind[MembershipSignals])


def test_010_run_reports_in_the_terminal_and_html(old_run: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with RunStore.open(old_run, create=False) as store:
        summary = compute_summary(load_run(store))
    assert summary.overall.verbatim_spans == 4 and summary.overall.memorized_tokens > 0
    html = tmp_path / "old.html"
    try:
        main(["report", str(old_run), "--html", str(html)])
    except SystemExit as exc:
        assert not exc.code
    out = capsys.readouterr().out
    assert "Overview" in out and "Unique memorized sequences" in out
    page = html.read_text(encoding="utf-8")
    assert "<html" in page and "regurgitate" in page and "verbatim" in page
