"""Where `index build` writes: --force replaces only an index, never user data or the working
directory; interrupted builds leave nothing behind; stale temporary folders are cleaned."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.index import CorpusIndex, build_index
from regurgitate.types import Document

RunCli = Callable[[list[str]], tuple[int, str, str]]  # the fixture in tests/conftest.py


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "ok.jsonl"
    path.write_text("".join(json.dumps({"text": f"document number {i}"}) + "\n"
                            for i in range(5)), encoding="utf-8")
    return path


def test_force_keeps_a_folder_that_is_not_an_index(corpus: Path, tmp_path: Path,
                                                  run_cli: RunCli) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "thesis.txt").write_text("x\n")
    code, _, err = run_cli(["index", "build", str(corpus), "-o", str(d), "--force"])
    assert code == 2 and "not an index" in err and "Traceback" not in err
    assert (d / "thesis.txt").read_text() == "x\n"
    assert sorted(p.name for p in d.iterdir()) == ["thesis.txt"]


def test_force_keeps_foreign_files_inside_an_index(corpus: Path, tmp_path: Path,
                                                   run_cli: RunCli) -> None:
    ix = tmp_path / "ix"
    assert run_cli(["index", "build", str(corpus), "-o", str(ix)])[0] == 0
    (ix / "notes.md").write_text("mine")
    code, _, err = run_cli(["index", "build", str(corpus), "-o", str(ix), "--force"])
    assert code == 2 and "notes.md" in err
    assert (ix / "notes.md").read_text() == "mine"
    (ix / "notes.md").unlink()
    assert run_cli(["index", "build", str(corpus), "-o", str(ix), "--force"])[0] == 0
    assert CorpusIndex.open(ix).num_docs == 5


def test_force_refuses_the_working_directory_and_its_parents(
        corpus: Path, tmp_path: Path, run_cli: RunCli,
        monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work" / "deeper"
    work.mkdir(parents=True)
    (work / "keep.txt").write_text("k")
    monkeypatch.chdir(work)
    for target in (".", str(work), "..", str(tmp_path)):
        code, _, err = run_cli(["index", "build", str(corpus), "-o", target, "--force"])
        assert code == 2 and "refusing" in err and "Traceback" not in err, target
    assert (work / "keep.txt").read_text() == "k"
    assert corpus.exists()


def test_output_that_is_a_file_is_a_clear_error(corpus: Path, tmp_path: Path,
                                                run_cli: RunCli) -> None:
    f = tmp_path / "out.bin"
    f.write_bytes(b"data")
    for extra in ([], ["--force"]):
        code, _, err = run_cli(["index", "build", str(corpus), "-o", str(f), *extra])
        assert code == 2 and "is a file" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 2  # the error and its hint
    assert f.read_bytes() == b"data"


def test_force_replaces_an_infinigram_index(corpus: Path, tmp_path: Path,
                                            run_cli: RunCli) -> None:
    ix = tmp_path / "ig"
    build_index([Document("other text")], ix, ByteTokenizer())
    (ix / "manifest.json").unlink()
    (ix / "tokenizer.json").unlink(missing_ok=True)
    assert run_cli(["index", "build", str(corpus), "-o", str(ix), "--force"])[0] == 0
    assert CorpusIndex.open(ix).num_docs == 5


def test_stale_build_folders_of_dead_processes_are_removed(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(proc.stdout)  # that process has exited
    stale = tmp_path / f".ix.building-{dead}"
    stale.mkdir()
    (stale / "tokenized.0").write_bytes(b"\xff" * 100)
    live = tmp_path / ".ix.building-1"  # pid 1 always runs
    live.mkdir()
    other = tmp_path / f".other.building-{dead}"
    other.mkdir()
    build_index([Document("text")], tmp_path / "ix", ByteTokenizer())
    assert not stale.exists() and live.exists() and other.exists()


def _open_writer(fifo: Path, proc: subprocess.Popen[str]) -> int | None:
    """The FIFO's write end once the build has opened it for reading (None: not yet)."""
    assert proc.poll() is None, "the build ended before it read its corpus"
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:  # ENXIO: no reader yet
        if exc.errno != errno.ENXIO:
            raise
        return None


def _wait(condition: Callable[[], object]) -> object:
    """Poll ``condition`` until it is true (pytest-timeout bounds a hang)."""
    while not (value := condition()):
        time.sleep(0.02)
    return value


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_build_exits_with_a_message_and_leaves_nothing(
        tmp_path: Path, sig: signal.Signals) -> None:
    # the corpus is a pipe this test holds open: the build reads some records, then waits
    # for more, so it is interrupted mid-build whatever the machine's speed
    corpus = tmp_path / "big.jsonl"
    os.mkfifo(corpus)
    out = tmp_path / "ix"
    proc = subprocess.Popen([sys.executable, "-m", "regurgitate.cli.main", "index", "build",
                             str(corpus), "-o", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    building = tmp_path / f".ix.building-{proc.pid}"
    fd = _wait(lambda: _open_writer(corpus, proc))
    assert isinstance(fd, int)
    try:
        line = json.dumps({"text": "lorem ipsum dolor sit amet, consectetur " * 40}) + "\n"
        os.write(fd, (line * 20).encode())
        _wait(building.exists)  # the build is writing, and waits for the rest of the corpus
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(fd)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    assert not building.exists() and not out.exists()
