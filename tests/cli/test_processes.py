"""Issue 9, items 7 and 9: one writer per run database (two real scan processes), stale
leases taken over after kill -9, SIGTERM handled like Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from regurgitate.errors import StoreError
from regurgitate.model_server.app import Server
from regurgitate.store import RunStore
from regurgitate.store.lease import lease_path, scan_lease

from .scripted import ScriptedTarget, cli_process, scan_args, serve


def wait_for(predicate: Callable[[], object], what: str) -> None:
    """Poll until ``predicate()`` holds (``what`` it waits for); no wall-clock limit of its
    own: a hang is pytest-timeout's to report."""
    while not predicate():
        time.sleep(0.05)


def read_until(stream: IO[str], text: str) -> str:
    """Lines of ``stream`` up to and including the first that holds ``text``."""
    seen = []
    for line in stream:
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"the stream ended without {text!r}: {''.join(seen)!r}")


def signal_delivered(pid: int, sig: int) -> bool:
    """Whether no ``sig`` is pending on process ``pid`` any more (Linux: its status file):
    the kernel handed it over, so the process's handler runs before its next step."""
    status = Path(f"/proc/{pid}/status").read_text()
    bit = 1 << (sig - 1)
    return not any(int(line.split()[1], 16) & bit for line in status.splitlines()
                   if line.startswith(("SigPnd:", "ShdPnd:")))


@contextmanager
def held_scan(db: Path) -> Iterator[tuple[ScriptedTarget, Server, subprocess.Popen[str]]]:
    """A scan process whose first batch (one prompt) the model holds until ``target.gate``
    is set; yielded once that request arrived. The gate is opened and the process killed
    if the test leaves early."""
    gate = threading.Event()
    target = ScriptedTarget(gate=gate)
    with serve(target) as server:
        proc = cli_process(scan_args(server, db, "--batch-size", "1", concurrency=1),
                           db.parent)
        try:
            wait_for(lambda: target.calls >= 1, "the scan's first request")
            yield target, server, proc
        finally:
            gate.set()
            if proc.poll() is None:
                proc.kill()


def test_second_scan_is_refused_and_sigterm_stops_the_first(tmp_path: Path,
                                                            cache_dir: Path) -> None:
    db = tmp_path / "one.db"
    with held_scan(db) as (target, server, first):
        second = cli_process(scan_args(server, db, concurrency=1), tmp_path)
        out2, err2 = second.communicate(timeout=120)
        assert second.returncode == 6, err2
        flat = " ".join(err2.split())
        assert f"is in use by pid {first.pid} on {socket.gethostname()} since" in flat
        assert "Traceback" not in err2
        assert target.calls == 1  # the refused scan generated nothing

        first.send_signal(signal.SIGTERM)
        assert first.stderr is not None
        said = read_until(first.stderr, "stopping after the current batch")
        assert target.gate is not None
        target.gate.set()  # the batch in flight ends only once the stop was asked for
        out1, err1 = first.communicate(timeout=120)
        err1 = said + err1
    assert first.returncode == 143, err1
    assert "SIGTERM" in err1 and "resume with" in " ".join(err1.split())
    assert "Traceback" not in err1
    with RunStore.open(db, create=False) as store:
        assert store.get_meta("status") == "stopped"
        assert 1 <= store.stats().generations_ok < 4
    assert not lease_path(db).exists()  # released on exit


HOLDER = """
import sys, time
from regurgitate.store.lease import scan_lease
with scan_lease(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_lease_of_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreError, match=f"in use by pid {holder.pid} on "), \
                scan_lease(db):
            pass
    finally:
        holder.kill()  # SIGKILL: no clean-up code runs
        holder.wait()
    assert lease_path(db).exists()  # left behind by the killed holder...
    with scan_lease(db) as me:  # ...and taken over
        assert me.host == socket.gethostname()
        assert f'"pid": {me.pid}' in lease_path(db).read_text()


def test_sigterm_with_a_closed_terminal_still_stops_cleanly(tmp_path: Path,
                                                            cache_dir: Path) -> None:
    """The parent (a terminal, a pipe reader) is gone: writing the stop message fails, yet
    the batch in flight is kept and the run is marked stopped, not left "running"."""
    db = tmp_path / "closed.db"
    with held_scan(db) as (target, _, proc):
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
        proc.send_signal(signal.SIGTERM)
        wait_for(lambda: signal_delivered(proc.pid, signal.SIGTERM), "SIGTERM delivered")
        assert target.gate is not None
        target.gate.set()
        assert proc.wait(timeout=120) == 143
    with RunStore.open(db, create=False) as store:
        assert store.get_meta("status") == "stopped"
        assert store.stats().generations_ok == 1  # the batch in flight was kept
