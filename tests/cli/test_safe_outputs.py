"""Issue 9, item 2: no writer can destroy the run database; outputs are atomic and never
written through a symlink; bad output paths give one clear line."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from regurgitate.safe_paths import write_text_atomically
from regurgitate.store import RunStore

from .conftest import RunCli
from .scripted import ScriptedTarget, scan_args, serve


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run database made by a real scan over HTTP (no index: fast)."""
    from regurgitate.cli.main import main

    db = tmp_path_factory.mktemp("run") / "run.db"
    with serve(ScriptedTarget()) as server:
        try:
            main(scan_args(server, db))
        except SystemExit as exc:
            assert not exc.code
    return db


def intact(db: Path) -> bool:
    conn = sqlite3.connect(db)
    try:
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return ok and conn.execute("SELECT count(*) FROM generations").fetchone()[0] == 4
    finally:
        conn.close()


def copy_run(src: Path, tmp: Path) -> Path:
    db = tmp / "run.db"
    conn = sqlite3.connect(src)
    dest = sqlite3.connect(db)
    conn.backup(dest)
    conn.close()
    dest.close()
    return db


@pytest.mark.parametrize("target", ["run.db", "run.db-wal", "run.db-shm", "./sub/../run.db",
                                    "link-to-db", "hardlink-to-db"])
@pytest.mark.parametrize("command", ["report", "export"])
def test_no_writer_overwrites_the_run_database(run_cli: RunCli, finished_run: Path,
                                               tmp_path: Path, target: str, command: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    db = copy_run(finished_run, tmp_path)
    (tmp_path / "sub").mkdir()
    os.symlink(db, tmp_path / "link-to-db")
    os.link(db, tmp_path / "hardlink-to-db")
    monkeypatch.chdir(tmp_path)
    before = db.read_bytes()
    option = "--html" if command == "report" else "-o"
    code, out, err = run_cli([command, str(db), option, target])
    assert code == 2, (out, err)
    assert "refusing" in err and "Traceback" not in err
    assert db.read_bytes() == before and intact(db)
    assert not list(tmp_path.glob(".*partial"))


def test_scan_refuses_html_onto_its_own_run_database(run_cli: RunCli, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with serve(ScriptedTarget()) as server:
        args = scan_args(server, db)
        args.remove("--no-html")
        assert run_cli(args)[0] == 0
        before = db.read_bytes()
        code, _, err = run_cli([*args, "--html", str(db)])
    assert code == 2 and "refusing to write the report" in err
    assert db.read_bytes() == before and intact(db)
    with RunStore.open(db, create=False) as store:  # still a healthy run database
        assert store.stats().generations_ok == 4


def test_any_sqlite_file_is_protected(run_cli: RunCli, finished_run: Path,
                                      tmp_path: Path) -> None:
    """Another run's database is refused too (every run database starts with the header)."""
    other = copy_run(finished_run, tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    db = copy_run(finished_run, mine)
    code, _, err = run_cli(["report", str(db), "--html", str(other)])
    assert code == 2 and "SQLite database" in err and intact(other)


def test_symlink_destination_is_replaced_not_followed(run_cli: RunCli, finished_run: Path,
                                                      tmp_path: Path) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("do not touch")
    link = tmp_path / "report.html"
    os.symlink(victim, link)
    code, _, err = run_cli(["report", str(finished_run), "--html", str(link)])
    assert code == 0, err
    assert victim.read_text() == "do not touch"
    assert not link.is_symlink() and link.read_text().startswith("<!DOCTYPE html>")
    code, _, err = run_cli(["export", str(finished_run), "-o", str(link)])
    assert code == 0 and not link.is_symlink() and victim.read_text() == "do not touch"


def test_bad_output_paths_give_one_clear_line(run_cli: RunCli, finished_run: Path,
                                              tmp_path: Path) -> None:
    code, _, err = run_cli(["export", str(finished_run), "-o", str(tmp_path)])
    assert code == 2 and "is a directory" in err and "Traceback" not in err
    code, _, err = run_cli(["export", str(finished_run), "-o", str(tmp_path / "no" / "x.jsonl")])
    assert code == 6 and "does not exist" in err and "Traceback" not in err
    code, _, err = run_cli(["report", str(finished_run), "--html", str(tmp_path)])
    assert code == 2 and "is a directory" in err


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("old")
    out.chmod(0o640)

    class Boom(Exception):
        pass

    def fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise Boom

    from regurgitate.safe_paths import write_atomically

    with pytest.raises(Boom):
        write_atomically(out, fail)
    assert out.read_text() == "old" and not list(tmp_path.glob(".*partial"))
    write_text_atomically(out, "new")
    assert out.read_text() == "new" and (out.stat().st_mode & 0o777) == 0o640


def test_closeness_and_evidence_writers_refuse_a_run_database(finished_run: Path,
                                                               tmp_path: Path) -> None:
    """The closeness report and evidence packets go through the same safe writer: a path
    that is a run database (any SQLite file) is refused and the database stays intact."""
    from regurgitate.errors import ConfigError
    from regurgitate.reports.check_html import write_closeness_html
    from regurgitate.reports.text_evidence import _write

    db = copy_run(finished_run, tmp_path)
    data = {"spans": [], "coverage": [], "works": [], "verdict": "none", "chars": 1,
            "tokens": 1, "covered_chars": 0, "covered_share": 0.0, "seconds": 0.0}
    with pytest.raises(ConfigError):
        write_closeness_html(data, "x", db, index="idx")
    with pytest.raises(ConfigError):
        _write(db, "<html></html>")
    assert intact(db)
