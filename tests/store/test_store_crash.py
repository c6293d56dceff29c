"""Durability: a writer killed with SIGKILL loses nothing it committed, and resuming does
not duplicate anything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from regurgitate.store import RunStore
from regurgitate.types import Generation, GenerationSettings, Prompt

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")

N_PROMPTS = 400
BATCH = 8

WRITER = textwrap.dedent(
    """
    import sys, time
    from regurgitate.store import RunStore
    from regurgitate.types import Generation, GenerationSettings, Prompt, RunSpec

    path, n, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = RunStore.open(path)
    store.init_run(RunSpec(target="t", attacks=("a",), index=None))
    store.add_prompts([Prompt(id=f"a:{i}", attack="a", text=f"p{i}",
                              settings=GenerationSettings()) for i in range(n)])
    print("prompts", flush=True)
    for start in range(0, n, batch):
        gens = [Generation(prompt_id=f"a:{i}", text=f"g{i}", token_ids=tuple(range(i % 50)))
                for i in range(start, min(n, start + batch))]
        store.add_generations(gens)
        print("committed", start, flush=True)
    print("done", flush=True)
    time.sleep(60)
    """
)

OPEN_TX = textwrap.dedent(
    """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO prompts (id, attack, text, messages, settings, meta, created_at)"
                 " VALUES ('ghost', 'a', 'x', NULL, '{}', '{}', 'now')")
    conn.execute("DELETE FROM generations")
    print("in transaction", flush=True)
    time.sleep(60)
    """
)


def _run_and_kill(args: list[str], stop_after: int) -> list[str]:
    """Run a python snippet, SIGKILL it after ``stop_after`` lines of output."""
    proc = subprocess.Popen(
        [sys.executable, "-c", *args], stdout=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        while len(lines) < stop_after:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return lines


def _prompts(n: int) -> list[Prompt]:
    return [Prompt(id=f"a:{i}", attack="a", text=f"p{i}", settings=GenerationSettings())
            for i in range(n)]


def test_sigkill_between_batches_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    lines = _run_and_kill([WRITER, str(db), str(N_PROMPTS), str(BATCH)], stop_after=1 + 12)
    committed = [int(line.split()[1]) for line in lines if line.startswith("committed")]
    assert len(committed) == 12  # killed while writing further batches

    with RunStore.open(db, create=False) as store:
        stored = [item.prompt.id for item in store.generations()]
        # every batch the child saw committed is there exactly once; a batch is all or nothing
        assert len(stored) == len(set(stored))
        assert len(stored) % BATCH == 0
        assert len(stored) >= len(committed) * BATCH
        expected_prefix = [f"a:{i}" for i in range(len(stored))]
        assert stored == expected_prefix
        pending = store.pending_prompts()
        assert len(pending) == N_PROMPTS - len(stored)

        # resume: re-adding prompts and every generation (done ones too) duplicates nothing
        assert store.add_prompts(_prompts(N_PROMPTS)) == 0
        ids = store.add_generations([
            Generation(prompt_id=f"a:{i}", text=f"g{i}", token_ids=tuple(range(i % 50)))
            for i in range(N_PROMPTS)
        ])
        assert len(set(ids)) == N_PROMPTS
        assert store.pending_prompts() == []
        assert store.stats().generations_ok == N_PROMPTS and store.stats().generations_failed == 0


def test_sigkill_inside_a_transaction_rolls_back(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    with RunStore.open(db) as store:
        store.add_prompts(_prompts(3))
        store.add_generations([Generation(prompt_id=f"a:{i}", text="g") for i in range(3)])
    lines = _run_and_kill([OPEN_TX, str(db)], stop_after=1)
    assert lines == ["in transaction"]
    with RunStore.open(db, create=False) as store:
        assert [p.id for p in store.pending_prompts()] == []
        assert store.stats().prompts == 3
        assert sum(1 for _ in store.generations()) == 3
        # and the database is writable again (no lock left behind)
        assert store.add_prompts(_prompts(4)) == 1
