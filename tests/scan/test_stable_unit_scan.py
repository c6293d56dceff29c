"""A real scan stopped after k generations and the same scan run on: the stable unit's count
(unique memorized 50-grams) of the first k generations is the same in both."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from regurgitate.reports import compute_summary
from regurgitate.reports.text_data import load_run
from regurgitate.store import RunStore
from tests.run_db import start_scan

N, K = 24, 12


def _scan(db: Path, *extra: str) -> list[str]:
    return ["scan", "--target", "reference", "--attack", "sample-rank",
            "--set", f"sample-rank.num_samples={N}", "--batch-size", "4", "--run", str(db),
            "--no-html", "-q", *extra]


def _summary(db: Path):
    with RunStore.open(db, create=False) as store:
        return compute_summary(load_run(store))


@pytest.mark.slow
def test_ngram_count_of_a_stopped_scan_equals_the_longer_scans_count_at_k(
        tmp_path: Path, cache_dir: Path) -> None:
    db = tmp_path / "run.db"
    proc = start_scan(_scan(db, "--max-generations", str(K)), cache_dir)
    _, err = proc.communicate(timeout=600)
    assert "max-generations" in err, err[-2000:]
    stopped_db = tmp_path / "stopped.db"
    src, dst = sqlite3.connect(db), sqlite3.connect(stopped_db)
    src.backup(dst)  # the run as it stood, WAL included
    src.close()
    dst.close()
    proc = start_scan(_scan(db), cache_dir)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    stopped, full = _summary(stopped_db), _summary(db)
    assert stopped.overall.ok == K and full.overall.ok == N
    assert stopped.unique_ngrams is not None and stopped.unique_ngrams > 0
    assert stopped.unique_ngrams == full.curve[K - 1][1]
    assert stopped.curve == full.curve[:K]
    assert full.unique_ngrams == full.curve[-1][1] >= stopped.unique_ngrams
