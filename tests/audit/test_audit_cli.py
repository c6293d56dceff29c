"""`regurgitate audit` from the command line: character copying and scoring given outputs on
the reference model, and one-line errors for user mistakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import planted, write_jsonl


def test_characters_and_given_outputs(run_cli: Any, cache_dir: Path, manifest: Any,
                                      tmp_path: Path) -> None:
    p100, held = planted(manifest, 100, 1)[0], planted(manifest, 0, 1)[0]
    works = write_jsonl(tmp_path / "w.jsonl", [
        {"id": "p100", "title": "The chronicle", "text": p100.text,
         "names": ["Voathglethford", "Barnaby", "Zyxquorl"]},
        {"id": "held", "text": held.text}])
    outputs = write_jsonl(tmp_path / "o.jsonl", [
        {"text": "Preface. " + p100.text[100:500] + " The end."},
        {"work_id": "held", "text": "nothing from the book"}])
    out = tmp_path / "c.json"
    code, stdout, err = run_cli([
        "audit", str(works), "--run", str(tmp_path / "c.db"), "--no-windows",
        "--characters", "2", "--control-title", "The Glass Orchard", "--outputs", str(outputs),
        "--json", str(out), "--no-html"])
    assert code == 0, err
    by_id = {w["id"]: w for w in json.loads(out.read_text())["works"]}
    chars = by_id["p100"]["characters"]
    assert chars["names"] == 3 and chars["source"] == "given"
    assert 0 <= chars["control_copied"] <= chars["names"] and "Zyxquorl" not in \
        chars["copied_names"]
    assert by_id["held"]["characters"]["source"] == "extracted"
    # the given outputs: 400 characters of the passage, as one near-verbatim block
    rec = by_id["p100"]["recall"]
    assert rec["outputs"] == 1 and 0.45 < rec["recall"] < 0.6
    assert by_id["held"]["recall"]["outputs"] == 2 and by_id["held"]["recall"]["recall"] == 0
    assert "Names" in stdout and "Recall" in stdout


def test_user_mistakes_are_one_line_errors(run_cli: Any, cache_dir: Path, tmp_path: Path
                                           ) -> None:
    code, _, err = run_cli(["audit", str(tmp_path / "missing.txt")])
    assert code == 2 and "no such file or folder" in err and "Traceback" not in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n')
    code, _, err = run_cli(["audit", str(bad)])
    assert code == 2 and "needs a non-empty 'text'" in err
    code, _, err = run_cli(["audit", str(bad), "--threshold", "2"])
    assert code == 2 and "--threshold" in err


def test_a_partial_audit_says_so_and_a_short_work_is_not_scored(
        run_cli: Any, cache_dir: Path, manifest: Any, tmp_path: Path) -> None:
    """Issue 41: --max-windows printed a work's share as if it were measured whole, and a work
    shorter than one window got one window, p 0 and '0.0%'."""
    long_text = " ".join(it.text for it in planted(manifest, 0, 4))
    works = write_jsonl(tmp_path / "w.jsonl", [
        {"id": "long", "text": long_text}, {"id": "short", "text": "A few words only."}])
    out, html = tmp_path / "a.json", tmp_path / "a.html"
    code, stdout, err = run_cli([
        "audit", str(works), "--run", str(tmp_path / "a.db"), "--max-windows", "3",
        "--json", str(out), "--html", str(html)])
    assert code == 0, err
    by_id = {w["id"]: w for w in json.loads(out.read_text())["works"]}
    long, short = by_id["long"], by_id["short"]
    assert long["windows_measured"] == 3 and long["windows_possible"] > 3 and long["partial"]
    assert short["too_short"] and short["windows_measured"] == 0
    flat = " ".join(stdout.split())
    assert f"3/{long['windows_possible']}" in flat and "partial:" in flat
    assert "too short for one window" in flat
    page = html.read_text()
    assert f"partial: 3 of {long['windows_possible']} windows" in page
    assert "too short for one window" in page


def test_no_windows_tables_show_only_what_was_measured(
        run_cli: Any, cache_dir: Path, manifest: Any, tmp_path: Path) -> None:
    works = write_jsonl(tmp_path / "w.jsonl", [{"id": "p", "text": planted(manifest, 0, 1)[0]
                                                .text}])
    outputs = write_jsonl(tmp_path / "o.jsonl", [{"text": "nothing"}])
    code, stdout, err = run_cli([
        "audit", str(works), "--run", str(tmp_path / "n.db"), "--no-windows", "--outputs",
        str(outputs), "--html", str(tmp_path / "n.html")])
    assert code == 0, err
    assert "ranked by extracted share" not in stdout and "Max p" not in stdout
    page = (tmp_path / "n.html").read_text()
    assert "extracted at p" not in page and "Max p" not in page


def test_a_pdf_work_says_extract_the_text_first(run_cli: Any, tmp_path: Path) -> None:
    """Issue 41: a PDF work got a raw UTF-8 decode error with no hint."""
    pdf = tmp_path / "book.pdf"
    pdf.write_bytes(b"%PDF-1.4 \xff\xfe binary")
    code, _, err = run_cli(["audit", str(pdf)])
    assert code == 2 and "a PDF file, not text" in err and "extract the text first" in err
    assert "Traceback" not in err and "codec" not in err
