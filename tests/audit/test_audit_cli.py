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
