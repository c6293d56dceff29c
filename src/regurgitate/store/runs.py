"""Finding the run databases in a directory (``regurgitate runs list``)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from regurgitate.errors import StoreError
from regurgitate.store import codec
from regurgitate.store.schema import check_readable

#: file names looked at by :func:`list_runs`
RUN_SUFFIXES = (".db", ".sqlite", ".sqlite3")


@dataclass(frozen=True)
class RunSummary:
    """One line of ``runs list``. ``status`` is the run's ``status`` meta value, else
    ``"running"`` (``"empty"`` before a spec was stored; ``target`` is then ``""``)."""

    path: Path
    target: str
    attacks: tuple[str, ...]
    generations: int
    status: str
    updated: str
    #: the run's --index (None: no index, or not stored yet)
    index: str | None = None


def summarize_run(path: Path) -> RunSummary:
    """Read a run database without modifying it; StoreError if it is not one."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from exc
    try:
        if check_readable(conn, str(path)) == 0:
            raise StoreError(f"{path} is not a run database (empty file)")
        run = conn.execute("SELECT target, attacks, index_path FROM run WHERE id = 1"
                           ).fetchone()
        (updated,) = conn.execute("SELECT updated_at FROM clock WHERE id = 1").fetchone()
        (n_ok,) = conn.execute("SELECT count(*) FROM generations WHERE ok = 1").fetchone()
        status_row = conn.execute("SELECT value FROM meta WHERE key = 'status'").fetchone()
    except sqlite3.Error as exc:
        raise StoreError(f"{path} is not a readable run database ({exc})") from exc
    finally:
        conn.close()
    if status_row is not None:
        status = str(codec.loads(status_row[0]))
    else:
        status = "running" if run is not None else "empty"
    return RunSummary(
        path=path,
        target="" if run is None else run[0],
        attacks=() if run is None else tuple(codec.loads(run[1])),
        generations=int(n_ok),
        status=status,
        updated=updated,
        index=None if run is None else run[2],
    )


def list_runs(directory: Path | str) -> list[RunSummary]:
    """Summaries of the run databases directly inside ``directory``, most recent first.
    Files with a run suffix that are not run databases are left out."""
    directory = Path(directory)
    if not directory.is_dir():
        raise StoreError(f"{directory} is not a directory")
    out: list[RunSummary] = []
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() not in RUN_SUFFIXES or not path.is_file():
            continue
        try:
            out.append(summarize_run(path))
        except StoreError:
            continue
    out.sort(key=lambda r: (r.updated, str(r.path)), reverse=True)
    return out
