"""`regurgitate audit WORKS --controls CONTROLS`: dataset inference of the user's works against
works the model never saw, on the bundled reference model (members: background documents of
its corpus; controls: the shipped held-out background, same source, never trained on)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from regurgitate.reference.text.heldout_background import heldout_background, member_background

from .conftest import write_jsonl

#: characters kept of each document (a few passages each keeps the test fast)
KEEP = 2400


def _works(path: Path, docs: list[Any]) -> Path:
    return write_jsonl(path, [{"id": d.id, "text": d.text[:KEEP]} for d in docs])


def test_trained_on_works_against_controls_give_a_small_p_value(
        run_cli: Any, cache_dir: Path, tmp_path: Path) -> None:
    members, held = member_background()[:12], heldout_background()[:14]
    out = tmp_path / "di.json"
    code, stdout, err = run_cli([
        "audit", str(_works(tmp_path / "w.jsonl", members)), "--no-windows",
        "--controls", str(_works(tmp_path / "c.jsonl", held)),
        "--run", str(tmp_path / "di.db"), "--json", str(out), "--html", str(tmp_path / "di.html")])
    assert code == 0, err
    di = json.loads(out.read_text())["dataset_inference"]
    assert di["p_value"] < 0.05 and di["effect_size"] > 0
    assert di["suspect"] > 0 and di["control"] > 0 and 0 <= di["blind_baseline_auc"] <= 1
    assert "dataset inference: The model is more familiar" in stdout
    assert di["significant"] is True and di["conclusive"] is True
    assert "id='dataset-inference'" in (tmp_path / "di.html").read_text()


@pytest.mark.slow
def test_controls_against_controls_are_no_evidence(run_cli: Any, cache_dir: Path,
                                                   tmp_path: Path) -> None:
    held = heldout_background()[:26]
    out = tmp_path / "null.json"
    code, _, err = run_cli([
        "audit", str(_works(tmp_path / "w.jsonl", held[:12])), "--no-windows",
        "--controls", str(_works(tmp_path / "c.jsonl", held[12:])),
        "--run", str(tmp_path / "null.db"), "--json", str(out), "--no-html"])
    assert code == 0, err
    assert json.loads(out.read_text())["dataset_inference"]["p_value"] >= 0.05


def test_a_work_among_the_controls_is_a_one_line_error(run_cli: Any, cache_dir: Path,
                                                       tmp_path: Path) -> None:
    held = heldout_background()[:8]
    works = _works(tmp_path / "w.jsonl", held)
    code, _, err = run_cli(["audit", str(works), "--no-windows", "--controls", str(works),
                            "--run", str(tmp_path / "e.db"), "--no-html"])
    assert code == 2 and "both in WORKS and in --controls" in err and "Traceback" not in err


def test_too_few_controls_for_recall_name_the_flag_that_fixes_it(
        run_cli: Any, cache_dir: Path, tmp_path: Path) -> None:
    held = heldout_background()[:9]
    code, _, err = run_cli([
        "audit", str(_works(tmp_path / "w.jsonl", held[:4])), "--no-windows",
        "--controls", str(_works(tmp_path / "c.jsonl", held[4:])),
        "--run", str(tmp_path / "few.db"), "--no-html"])
    flat = " ".join(err.split())
    assert code == 2 and "the controls hold 5 works" in flat and "Traceback" not in err
    assert "--prefix-controls 0" in flat  # a flag audit takes:
    code, out, _ = run_cli(["audit", "--help"])
    assert code == 0 and "--prefix-controls" in out


def test_a_text_the_model_never_saw_is_not_reported_as_trained_on(
        run_cli: Any, cache_dir: Path, manifest: Any, tmp_path: Path) -> None:
    """The GPL-3 text against the reference's held-out passages: another kind of text, never
    trained on. The raw test said p = 0.02 and 'more familiar' (issue 41); the verdict now
    accounts for what the texts alone explain and says inconclusive, with why."""
    gpl = Path("/usr/share/common-licenses/GPL-3")
    if not gpl.is_file():
        pytest.skip("no GPL-3 text on this system")
    paras = [p for p in gpl.read_text().split("\n\n") if len(p) > 400][:8]
    held = [it for it in manifest.items if it.kind == "heldout"][:8]
    out = tmp_path / "gpl.json"
    code, stdout, err = run_cli([
        "audit", str(write_jsonl(tmp_path / "w.jsonl",
                                 [{"id": f"gpl{i}", "text": p} for i, p in enumerate(paras)])),
        "--no-windows", "--controls",
        str(write_jsonl(tmp_path / "c.jsonl", [{"id": h.id, "text": h.text} for h in held])),
        "--run", str(tmp_path / "gpl.db"), "--json", str(out), "--no-html"])
    assert code == 0, err
    di = json.loads(out.read_text())["dataset_inference"]
    assert di["significant"] is False and di["conclusive"] is False
    assert di["raw_p_value"] < 0.05  # what used to be reported as "trained on"
    assert (di["control"], di["prefix_controls"], di["prefix_works"]) == (6, 2, 2)
    assert "more familiar" not in stdout
    assert "Inconclusive: the sets differ in kind" in stdout
    assert "went to ReCaLL's prefix" in stdout
