"""`regurgitate audit` on the bundled reference: the planted passages as works, and a
composite book whose map lights up only in the planted stretch."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from .conftest import composite, planted, write_jsonl

STRIDE = 10


@pytest.fixture(scope="module")
def audited(cache_dir: Path, manifest: Any, tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, Any]:
    """One audit of the composite book and two works of each duplication, run in two parts
    (stopped by a budget, then resumed)."""
    from regurgitate.cli.main import main

    tmp = tmp_path_factory.mktemp("audit")
    text, start, end = composite(manifest)
    rows = [{"id": "composite", "title": "A composite book", "text": text}]
    for copies in (100, 10, 1, 0):
        rows += [{"id": it.id, "text": it.text} for it in planted(manifest, copies, 2)]
    works = write_jsonl(tmp / "works.jsonl", rows)
    run, out = tmp / "a.db", tmp / "a.json"
    args = ["audit", str(works), "--run", str(run), "--stride", str(STRIDE), "--json", str(out),
            "--maps", str(tmp / "maps"), "--html", str(tmp / "a.html"), "-q"]
    codes = []
    for extra in (["--max-generations", "60"], []):
        try:
            main([*args, *extra])
            codes.append(0)
        except SystemExit as exc:
            codes.append(int(exc.code or 0))
    with sqlite3.connect(run) as db:
        gens = db.execute("SELECT COUNT(*), COUNT(DISTINCT prompt_id) FROM generations").fetchone()
        prompts = db.execute("SELECT COUNT(*) FROM prompts").fetchone()[0]
    return {"doc": json.loads(out.read_text()), "start": start, "end": end, "codes": codes,
            "gens": gens, "prompts": prompts, "tmp": tmp}


def _work(doc: dict[str, Any], wid: str) -> dict[str, Any]:
    return next(w for w in doc["works"] if w["id"] == wid)


def test_the_composite_book_lights_up_only_in_the_planted_stretch(audited: dict) -> None:
    book = _work(audited["doc"], "composite")
    start, end = audited["start"], audited["end"]
    inside = [w for w in book["windows"] if w["prefix_start"] >= start and w["end"] <= end]
    outside = [w for w in book["windows"] if w["end"] <= start or w["prefix_start"] >= end]
    assert len(inside) >= 3 and len(outside) >= 50
    assert all(w["p"] >= 0.5 and w["greedy"] for w in inside)
    assert all(w["p"] < 0.01 and not w["greedy"] for w in outside)
    # the extracted stretch lies within the planted passage (a window's suffix may run into
    # it from held-out text before it, never past it)
    stretch = book["longest_stretch"]
    assert start <= stretch["start"] and stretch["end"] <= end + 5
    assert 0 < book["extracted_share"] <= (end - start) / book["chars"]
    # evidence: every extracted window, its text, and its corpus count (planted 100 times)
    assert {e["window"] for e in book["evidence"]} >= {i["window"] for i in inside}
    assert all(e["corpus"]["suffix"]["count"] == 100 for e in book["evidence"]
               if e["start"] >= start and e["end"] <= end)
    assert book["corpus"]["not_in_index"] is False


def test_extracted_share_falls_with_duplication(audited: dict, manifest: Any) -> None:
    doc = audited["doc"]

    def shares(copies: int, key: str) -> list[float]:
        return [_work(doc, it.id)["shares"][key] for it in planted(manifest, copies, 2)]

    assert min(shares(100, "p>=0.5")) > 0.4
    assert max(shares(10, "p>=0.5")) < min(shares(100, "p>=0.5"))
    assert min(shares(10, "p>=0.01")) > max(shares(1, "p>=0.01"))
    for key in ("p>=0.5", "p>=0.01", "greedy"):
        assert shares(0, key) == [0.0, 0.0]
        assert max(shares(1, key)) == 0.0
    # ranked by extracted share: the planted-100x works first
    assert {w["id"] for w in doc["works"][:2]} == {it.id for it in planted(manifest, 100, 2)}


def test_the_audit_resumes_without_measuring_a_window_twice(audited: dict) -> None:
    assert audited["codes"] == [0, 0]
    count, distinct = audited["gens"]
    assert count == distinct == audited["prompts"]
    windows = sum(w["windows_measured"] for w in audited["doc"]["works"])
    assert windows == audited["prompts"]


def test_the_map_is_drawn_in_html_and_png(audited: dict) -> None:
    tmp = audited["tmp"]
    html = (tmp / "a.html").read_text()
    assert html.count("<svg") == len(audited["doc"]["works"])
    assert "#b91c1c" in html and "Was my work in there?" in html
    pngs = sorted((tmp / "maps").glob("*.png"))
    assert len(pngs) == len(audited["doc"]["works"])
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_report_on_an_audit_run_prints_the_audit_view(audited: dict, run_cli: Any,
                                                      tmp_path: Path) -> None:
    run = audited["tmp"] / "a.db"
    code, out, err = run_cli(["report", str(run), "--html", str(tmp_path / "r.html")])
    assert code == 0, err
    flat = " ".join(out.split())
    assert "Works, ranked by extracted share" in flat
    assert "composite" in flat
    assert "Was my work in there?" in (tmp_path / "r.html").read_text()
    # the run keeps the works' digest: other works are refused in one line
    other = write_jsonl(tmp_path / "other.jsonl", [{"id": "x", "text": "not the works " * 20}])
    code, _, err = run_cli(["report", str(run), "--works", str(other)])
    assert code == 2 and "holds other works than this audit run measured" in " ".join(
        err.split()) and "Traceback" not in err
