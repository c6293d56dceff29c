"""Schema migrations: older databases are upgraded in place, newer ones refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from regurgitate.errors import StoreError
from regurgitate.store import SCHEMA_VERSION, RunStore
from regurgitate.store.schema import APPLICATION_ID, MIGRATIONS, migrate


def _version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_new_database_is_at_the_latest_version(tmp_path: Path) -> None:
    with RunStore.open(tmp_path / "run.db"):
        pass
    assert _version(tmp_path / "run.db") == SCHEMA_VERSION == len(MIGRATIONS) >= 2
    conn = sqlite3.connect(tmp_path / "run.db")
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()


def test_version_1_database_is_upgraded_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, str(path), upto=1) == 1
    conn.execute(
        "INSERT INTO run (id, target, attacks, index_path, settings, tool_version, created_at)"
        " VALUES (1, 'hf:/m', '[\"divergence\"]', NULL, '{\"seed\":1}', '0.0.9', 'then')"
    )
    conn.execute(
        "INSERT INTO prompts (id, attack, text, messages, settings, meta, created_at) VALUES"
        " ('divergence:0', 'divergence', 'hi', NULL, '{}', '{}', 'then')"
    )
    conn.close()
    assert _version(path) == 1
    probe = sqlite3.connect(path)
    with pytest.raises(sqlite3.OperationalError):
        probe.execute("SELECT * FROM run_history")
    probe.close()

    with RunStore.open(path, create=False) as store:
        assert _version(path) == SCHEMA_VERSION
        spec = store.spec()
        assert spec is not None and spec.target == "hf:/m" and spec.settings == {"seed": 1}
        assert [p.id for p in store.pending_prompts()] == ["divergence:0"]
        # the table migration 2 added works
        assert store.init_run(spec) is False
        assert [e for e, _, _ in store.history()] == ["resume"]


def test_future_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with RunStore.open(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer regurgitate") as info:
        RunStore.open(path)
    assert "upgrade" in (info.value.hint or "")
    assert _version(path) == SCHEMA_VERSION + 5  # left untouched


def test_failed_migration_leaves_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "clash.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, str(path), upto=1)
    # a stray table with the name migration 2 creates makes it fail
    conn.execute("CREATE TABLE run_history (x)")
    conn.close()
    with pytest.raises(StoreError, match="migrating to schema version 2 failed"):
        RunStore.open(path)
    assert _version(path) == 1


@pytest.mark.parametrize(("image_meta", "modality"), [(True, "image"), (False, "text")])
def test_runs_from_before_the_modality_column_keep_their_modality(
        tmp_path: Path, image_meta: bool, modality: str) -> None:
    # version 4: image runs were told apart by the training-image index they recorded
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, str(path), upto=4) == 4
    conn.execute(
        "INSERT INTO run (id, target, attacks, index_path, settings, tool_version, created_at)"
        " VALUES (1, 'reference-image', '[\"carlini\"]', '/idx', '{}', '0.1.0', 'then')")
    if image_meta:
        conn.execute("INSERT INTO meta (key, value) VALUES ('image_index', '{\"images\": 3}')")
    conn.close()
    with RunStore.open(path, create=False) as store:
        assert _version(path) == SCHEMA_VERSION
        spec = store.spec()
        assert spec is not None and spec.modality == modality
        assert store.is_image_run() is image_meta
