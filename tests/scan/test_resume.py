"""A scan killed at any point resumes with every generation exactly once; budgets and Ctrl-C
stop cleanly; a dead endpoint loses nothing."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from regurgitate.store import RunStore
from tests.run_db import ok_generations, start_scan, wait_for_generations

N = 12


def scan_cmd(db: Path, *extra: str) -> list[str]:
    return ["scan", "--target", "reference",
            "--attack", "sample-rank", "--set", f"sample-rank.num_samples={N}",
            "--set", "sample-rank.max_new_tokens=32", "--batch-size", "2", "--run", str(db),
            "--no-html", *extra]


def check_complete(db: Path) -> None:
    with RunStore.open(db, create=False) as store:
        prompts = {p.id for p in store.pending_prompts()}
        assert prompts == set()
        items = list(store.generations(ok_only=False))
        ids = [it.prompt.id for it in items]
        assert len(ids) == len(set(ids)) == N
        assert all(it.generation.ok for it in items)
        assert store.undetected("verbatim") == []


def test_sigkill_mid_run_then_rerun_resumes_without_loss_or_duplicates(
        tmp_path: Path, cache_dir: Path) -> None:
    db = tmp_path / "run.db"
    proc = start_scan(scan_cmd(db), cache_dir)
    before = wait_for_generations(db, 4, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    kept = ok_generations(db)
    assert before <= kept < N
    rerun = start_scan(scan_cmd(db), cache_dir)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    check_complete(db)
    with RunStore.open(db, create=False) as store:
        history = store.history()
    assert len(history) == 2  # the first start and one resume


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path: Path, cache_dir: Path) -> None:
    db = tmp_path / "run.db"
    proc = start_scan(scan_cmd(db), cache_dir)
    wait_for_generations(db, 2, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "resume with" in err and f"--run {db}" in err and "Traceback" not in err
    done = ok_generations(db)
    assert 2 <= done < N
    rerun = start_scan(scan_cmd(db), cache_dir)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    check_complete(db)


def test_budget_stops_then_rerun_finishes(tmp_path: Path, cache_dir: Path) -> None:
    db = tmp_path / "run.db"
    proc = start_scan(scan_cmd(db, "--max-generations", "5"), cache_dir)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    assert "max-generations (5) reached" in err
    assert ok_generations(db) == 5
    proc = start_scan(scan_cmd(db), cache_dir)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    check_complete(db)


def test_resuming_a_different_scan_into_the_same_db_is_refused(
        tmp_path: Path, cache_dir: Path) -> None:
    db = tmp_path / "run.db"
    proc = start_scan(scan_cmd(db, "--max-generations", "2"), cache_dir)
    assert proc.wait(timeout=300) == 0
    other = start_scan(scan_cmd(db, "--seed", "9"), cache_dir)
    _, err = other.communicate(timeout=300)
    assert other.returncode == 6 and "seed" in err and "Traceback" not in err


def test_dead_endpoint_is_one_error_and_keeps_the_run(tmp_path: Path, cache_dir: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = tmp_path / "api.db"
    cmd = ["scan", "--target",
           f"openai:http://127.0.0.1:{port}/v1?model=m&max_retries=1&timeout=2",
           "--attack", "divergence", "--run", str(db), "--no-html"]
    proc = start_scan(cmd, cache_dir)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 5, err[-2000:]
    assert f"127.0.0.1:{port}" in err and "resume with" in err and "Traceback" not in err
    with RunStore.open(db, create=False) as store:
        assert len(store.pending_prompts()) > 0  # the prompts are there for the rerun
