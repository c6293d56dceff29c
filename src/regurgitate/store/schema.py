"""The run database schema, built by ordered migrations.

``MIGRATIONS[i]`` takes a database from schema version ``i`` to ``i + 1``; SQLite's
``PRAGMA user_version`` records the version reached. Each migration runs in one
transaction together with its version bump, so a crash leaves the previous version intact.
Never edit a released migration: append a new one.
"""

from __future__ import annotations

import sqlite3

from regurgitate.errors import StoreError

#: ``PRAGMA application_id`` of a run database ("RGRG"), tells our files from other SQLite files
APPLICATION_ID = 0x52475247

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

MIGRATIONS: tuple[str, ...] = (
    # 1: the core tables
    f"""
    PRAGMA application_id = {APPLICATION_ID};
    CREATE TABLE clock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    INSERT INTO clock (id, created_at, updated_at) VALUES (1, {_NOW}, {_NOW});
    CREATE TABLE run (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        target TEXT NOT NULL,
        attacks TEXT NOT NULL,
        index_path TEXT,
        settings TEXT NOT NULL,
        tool_version TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE prompts (
        id TEXT PRIMARY KEY,
        attack TEXT NOT NULL,
        text TEXT,
        messages TEXT,
        settings TEXT NOT NULL,
        meta TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX prompts_by_attack ON prompts (attack);
    CREATE TABLE generations (
        id INTEGER PRIMARY KEY,
        prompt_id TEXT NOT NULL UNIQUE REFERENCES prompts (id),
        ok INTEGER NOT NULL,
        text TEXT NOT NULL,
        token_ids BLOB,
        logprobs BLOB,
        finish_reason TEXT,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        n_tokens INTEGER NOT NULL,
        elapsed_s REAL NOT NULL,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    );
    CREATE INDEX generations_by_ok ON generations (ok);
    CREATE TABLE findings (
        id INTEGER PRIMARY KEY,
        generation_id INTEGER NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
        detector TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_char INTEGER,
        end_char INTEGER,
        score REAL,
        data TEXT NOT NULL
    );
    CREATE INDEX findings_by_generation ON findings (generation_id, detector);
    CREATE INDEX findings_by_kind ON findings (kind);
    CREATE TABLE detected (
        generation_id INTEGER NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
        detector TEXT NOT NULL,
        detected_at TEXT NOT NULL,
        PRIMARY KEY (generation_id, detector)
    ) WITHOUT ROWID;
    """,
    # 2: a history of the tool versions that opened the run (start and every resume)
    """
    CREATE TABLE run_history (
        id INTEGER PRIMARY KEY,
        event TEXT NOT NULL,
        tool_version TEXT NOT NULL,
        at TEXT NOT NULL
    );
    """,
    # 3: typed finding payloads: the version of each finding's payload (0 = the free-form
    # dict written by regurgitate 0.1.0, whose keys the version-1 payloads kept)
    """
    ALTER TABLE findings ADD COLUMN payload_version INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: generated images, content-addressed (one copy of identical bytes), per generation
    """
    CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        data BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE generation_images (
        generation_id INTEGER PRIMARY KEY REFERENCES generations (id) ON DELETE CASCADE,
        sha256 TEXT NOT NULL REFERENCES blobs (sha256)
    );
    """,
    # 5: per generated token, the mean and variance of log p under the step's next-token
    # distribution (what a target that returned raw logits saw; min-k%++ reads them)
    """
    ALTER TABLE generations ADD COLUMN dist_mean BLOB;
    ALTER TABLE generations ADD COLUMN dist_var BLOB;
    """,
    # 6: the run's modality ("text" or "image"); runs started before it are image runs when
    # they recorded a training-image index (the meta key image runs have always written)
    """
    ALTER TABLE run ADD COLUMN modality TEXT NOT NULL DEFAULT 'text';
    UPDATE run SET modality = 'image'
        WHERE EXISTS (SELECT 1 FROM meta WHERE key = 'image_index');
    """,
    # 7: the max_tokens a remote target actually asked for (cut to fit the context window)
    """
    ALTER TABLE generations ADD COLUMN max_tokens INTEGER;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def application_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA application_id").fetchone()[0])


def check_readable(conn: sqlite3.Connection, path: str) -> int:
    """The schema version of a run database, or StoreError if it is not one we can read."""
    try:
        version = schema_version(conn)
        app = application_id(conn)
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a run database ({exc})") from exc
    if version == 0 and tables:
        raise StoreError(
            f"{path} is an SQLite file but not a regurgitate run database",
            hint="pass a new path with --run to start a run",
        )
    if version and app != APPLICATION_ID:
        raise StoreError(f"{path} is an SQLite file but not a regurgitate run database")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer regurgitate (schema version {version}; this one "
            f"knows up to {SCHEMA_VERSION})",
            hint="upgrade regurgitate: pip install -U regurgitate",
        )
    return version


def migrate(conn: sqlite3.Connection, path: str, *, upto: int = SCHEMA_VERSION) -> int:
    """Apply the pending migrations up to version ``upto``; returns the version reached.

    ``conn`` must be in autocommit mode (``isolation_level=None``).
    """
    version = check_readable(conn, path)
    for target in range(version + 1, upto + 1):
        script = MIGRATIONS[target - 1]
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if schema_version(conn) >= target:  # another process migrated concurrently
                continue
            raise StoreError(f"{path}: migrating to schema version {target} failed: {exc}") from exc
    return max(version, upto)
