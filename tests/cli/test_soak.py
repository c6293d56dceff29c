"""Soak (issue 9): a scan over HTTP against a fault-injecting server, killed with SIGKILL at
20 random points and resumed each time, ends identical to an uninterrupted scan."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest

from regurgitate.model_server.faults import FaultPlan
from regurgitate.safe_paths import database_files
from regurgitate.store import RunStore
from regurgitate.store.export import export_rows
from tests.run_db import ok_generations

from .scripted import ScriptedTarget, cli_process, serve

KILLS = 20


class SlowScripted(ScriptedTarget):
    """The deterministic script, a little slow per batch so kills land mid-scan."""

    def generate(self, prompts: Any) -> Any:
        time.sleep(0.15)
        return super().generate(prompts)


def args(server: Any, db: Path) -> list[str]:
    url = (f"openai:{server.url}?model=scripted&api_key_env=NO_SUCH_KEY_VAR&concurrency=2"
           "&backoff_base=0.02&backoff_max=0.1&max_retries=8&timeout=5")
    return ["scan", "--target", url, "--attack", "divergence",
            "--set", "divergence.words=poem,book,company,a", "--set", "divergence.repeats=1,3,9",
            "--batch-size", "2", "--run", str(db), "--no-html"]


def content(db: Path) -> dict[str, dict[str, Any]]:
    """Everything a run holds that does not depend on timing, keyed by prompt."""
    with RunStore.open(db, create=False) as store:
        assert store.get_meta("status") == "finished"
        rows = {}
        for row in export_rows(store):
            row.pop("elapsed_s")
            row.pop("generation_id")
            rows[row["prompt_id"]] = row
        return rows


@pytest.mark.slow
def test_twenty_kills_end_identical_to_an_uninterrupted_scan(tmp_path: Path,
                                                              cache_dir: Path) -> None:
    rng = random.Random(20261129)
    plan = FaultPlan(rate=0.15, kinds=("500", "429", "malformed", "drop"), seed=7,
                     retry_after=0.05)
    with serve(SlowScripted(), faults=plan) as server:
        clean = tmp_path / "clean.db"
        proc = cli_process(args(server, clean), tmp_path)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err

        killed = tmp_path / "killed.db"
        kills = 0
        partial = 0  # kills that left a run with some but not all generations
        while kills < KILLS:
            proc = cli_process(args(server, killed), tmp_path)
            time.sleep(rng.uniform(0.3, 5.0))
            if proc.poll() is None:
                proc.kill()  # SIGKILL: nothing is cleaned up
                kills += 1
                proc.communicate(timeout=60)
                partial += 0 < ok_generations(killed) < 36
            proc.communicate(timeout=60)
            if proc.returncode == 0:  # finished before the kill: start the run over
                for f in database_files(killed):
                    f.unlink(missing_ok=True)
        proc = cli_process(args(server, killed), tmp_path)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert server.faults is not None and sum(server.faults.injected.values()) > 0
    assert partial >= 5  # the kills did land in the middle of scans
    expected, got = content(clean), content(killed)
    assert len(expected) == 4 * 3 * 3
    assert got == expected
