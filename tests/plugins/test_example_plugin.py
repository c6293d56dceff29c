"""The worked example of docs/plugins.md (examples/regurgitate-parrot), pip-installed as a real
distribution (its entry points in a .dist-info) into a folder on ``sys.path``, used through
the real CLI: scan, report, export and audit, with every figure a built-in gets."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunCli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "regurgitate-parrot"


@pytest.fixture(scope="module")
def parrot_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --no-deps --no-build-isolation --target SITE`` of the example package."""
    tmp = tmp_path_factory.mktemp("parrot")
    source = tmp / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    site = tmp / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                           "--no-build-isolation", "--no-index", "--target", str(site),
                           str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (next(site.glob("regurgitate_parrot-*.dist-info")) / "entry_points.txt").is_file()
    return site


@pytest.fixture()
def with_parrot(parrot_site: Path, monkeypatch: pytest.MonkeyPatch,
                tmp_path: Path) -> Iterator[Path]:
    """The example installed and importable, and the parrot's memory: the first documents of
    the bundled reference corpus (so what it says is found in the reference index)."""
    from regurgitate import reference

    monkeypatch.syspath_prepend(str(parrot_site))
    monkeypatch.setenv("COLUMNS", "200")
    docs = list(itertools.islice(reference.iter_corpus(), 8))
    memory = tmp_path / "memory.txt"
    memory.write_text("\n\n".join(d.text for d in docs), encoding="utf-8")
    yield memory
    for name in [m for m in sys.modules if m.startswith("regurgitate_parrot")]:
        del sys.modules[name]


def test_the_example_conforms(with_parrot: Path, run_cli: RunCli) -> None:
    code, out, err = run_cli(["plugins", "--check"])
    assert code == 0, out + err
    for case in ("target:parrot", "attack:openings", "detector:text_stats",
                 "finding-kind:text_stats"):
        assert case in out
    code, out, _ = run_cli(["plugins", "--options", "parrot"])
    assert code == 0 and "context_chars" in out and "batch_size" in out


def test_the_example_in_scan_report_export_and_audit(with_parrot: Path, tmp_path: Path,
                                                     run_cli: RunCli) -> None:
    trace = tmp_path / "batches.txt"
    db = tmp_path / "run.db"
    html = tmp_path / "run.html"
    spec = f"parrot:{with_parrot}?batch_size=2&trace_file={trace}"
    args = ["scan", "--target", spec, "--index", "reference", "--attack", "openings",
            "--set", "openings.documents=5", "--set", "openings.prefix_chars=90",
            "--run", str(db), "--html", str(html)]
    # a text-only target: the scan counts its tokens, so the token budget stops it
    code, out, err = run_cli([*args, "--max-tokens", "100"])
    assert "max-tokens (100) reached" in out + err, out + err
    assert trace.read_text().split() == ["2"]  # batch_size reached it (its __init__ ignores it)
    code, out, err = run_cli(args)  # resumed to the end
    assert code == 0, out + err
    assert trace.read_text().split() == ["2", "2", "1"]
    assert "Finding kinds" in out and "text statistics (text_stats)" in out
    assert "mean distinct-word share" in out

    # the HTML report has a section for the plugin's kind, and the built-ins'
    page = html.read_text(encoding="utf-8")
    assert 'id="kind-text_stats"' in page and 'id="kind-verbatim"' in page
    assert "distinct_share" in page

    code, out, err = run_cli(["report", str(db)])
    assert code == 0, err
    assert "text statistics (text_stats)" in out
    assert "unknown" not in out.split("Generated tokens")[1].split("\n")[0]

    jsonl = tmp_path / "run.jsonl"
    code, _, err = run_cli(["export", str(db), "--output", str(jsonl)])
    assert code == 0, err
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(rows) == 5
    for row in rows:
        assert len(row["prompt"]) == 90  # the attack's option took effect
        assert row["completion_tokens"] > 0  # counted with the index's tokenizer
        kinds = {f["kind"] for f in row["findings"]}
        assert {"text_stats", "verbatim"} <= kinds  # it parrots the corpus
    parquet = tmp_path / "run.parquet"
    code, _, err = run_cli(["export", str(db), "--format", "parquet", "--output", str(parquet)])
    assert code == 0, err
    import pyarrow.parquet as pq

    table = pq.read_table(parquet).to_pylist()
    assert {f["kind"] for row in table for f in row["findings"]} >= {"text_stats", "verbatim"}

    # the audit asks the target for its suffix scorer: exact p, not sampling
    from regurgitate.scan.request import cache_dir
    from regurgitate.targets.reference import reference_index

    index = reference_index(cache_dir(None), lambda m: None)
    work = tmp_path / "work.txt"
    work.write_text(with_parrot.read_text(encoding="utf-8")[:1500], encoding="utf-8")
    code, out, err = run_cli(["audit", str(work), "--target", f"parrot:{with_parrot}",
                              "--index", str(index), "--run", str(tmp_path / "audit.db"),
                              "--no-html"])
    assert code == 0, out + err
    assert "exact p" in out and "hits/n" not in out.split("measure:")[1].split("\n")[0]


def test_detector_options_reach_the_plugin_detector(with_parrot: Path) -> None:
    from regurgitate.detectors.base import DetectorContext
    from regurgitate.scan.assembly import default_detectors

    (det,) = default_detectors(DetectorContext(), {"text_stats": {"min_words": "7"}},
                               names=["text_stats"])
    assert det.name == "text_stats" and getattr(det, "min_words") == 7  # noqa: B009
