"""Watching a scan from outside: its run database read while another process writes it, and
scan subprocesses started offline against a given cache (the kill -9 / rerun tests)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest


def ok_generations(db: Path) -> int:
    """Successful generations stored in ``db`` so far; 0 when it does not exist yet or a
    process was killed before the schema was written."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return int(con.execute("SELECT count(*) FROM generations WHERE ok = 1")
                       .fetchone()[0])
    except sqlite3.Error:
        return 0


def start_scan(args: list[str], cache: Path, cwd: Path | None = None) -> subprocess.Popen[str]:
    """``regurgitate ARGS`` in a subprocess, offline, with its own index cache."""
    env = {**os.environ, "REGURGITATE_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "regurgitate.cli.main", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=cwd)


def wait_for_generations(db: Path, at_least: int, proc: subprocess.Popen[str]) -> int:
    """Poll ``db`` until the scan ``proc`` writes it has stored ``at_least`` successful
    generations; returns how many. A scan that ends first fails the test with its stderr (a
    hang is pytest-timeout's to catch: no wall-clock limit here)."""
    while (n := ok_generations(db)) < at_least:
        if proc.poll() is not None:
            pytest.fail(f"scan ended early: {proc.communicate()[1][-2000:]}")
        time.sleep(0.05)
    return n
