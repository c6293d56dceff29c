"""One writer per run database: the scan lease.

A scan holds an exclusive ``flock`` on ``RUN.db.lease`` beside the database for as long as it
writes, and records in that file who holds it (process id, host, start time). A second scan
on the same database fails at once with :class:`~regurgitate.errors.StoreError` (exit 6)
naming the holder, instead of generating every prompt a second time.

Stale leases cannot block anyone: the operating system drops a lock when its process ends,
however it ends (``kill -9`` included), and the next scan takes the lease over. On a
filesystem without ``flock`` the recorded holder decides instead: a lease whose process is
gone from this host is taken over, any other is respected.

The lease file is removed on release. Its inode is checked after locking, so a scan that
locked a file another one had just removed retries on the new file instead of sharing.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from regurgitate.errors import StoreError


@dataclass(frozen=True)
class Holder:
    """Who holds a lease."""

    pid: int
    host: str
    since: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since}"


def lease_path(db: Path | str) -> Path:
    db = Path(db)
    return db.with_name(db.name + ".lease")


def _read_holder(fd: int) -> Holder | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 4096)
        data = json.loads(raw.decode("utf-8")) if raw.strip() else None
        if not isinstance(data, dict):
            return None
        return Holder(pid=int(data["pid"]), host=str(data["host"]), since=str(data["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive_here(holder: Holder) -> bool:
    """Whether ``holder`` may still be running (always True for another host)."""
    if holder.host != socket.gethostname():
        return True
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _busy(db: Path, holder: Holder | None) -> StoreError:
    who = holder.describe() if holder else "another process"
    return StoreError(
        f"run database {db} is in use by {who}",
        hint="wait for that scan to finish (or stop it); a lease left by a process that no "
        "longer runs is taken over automatically",
    )


@contextlib.contextmanager
def scan_lease(db: Path | str) -> Iterator[Holder]:
    """Hold the write lease of run database ``db`` for the ``with`` block."""
    db = Path(db)
    path = lease_path(db)
    me = Holder(pid=os.getpid(), host=socket.gethostname(),
                since=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    for _ in range(20):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot take the lease on {db}: {exc.strerror}") from None
        try:
            locked = _lock(fd, db)
            if locked is False:
                raise _busy(db, _read_holder(fd))
            try:
                same = os.fstat(fd).st_ino == path.stat().st_ino
            except FileNotFoundError:
                same = False
            if not same:  # released and removed while we waited: lock the new file
                os.close(fd)
                time.sleep(0.01)
                continue
            if locked is None:  # no flock here: trust the recorded holder if alive
                holder = _read_holder(fd)
                if holder is not None and holder.pid != me.pid and _alive_here(holder):
                    raise _busy(db, holder)
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps({"pid": me.pid, "host": me.host,
                                     "since": me.since}).encode())
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        try:
            yield me
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(fd)  # closing drops the lock
        return
    raise StoreError(f"cannot take the lease on {db}: it keeps changing")


def _lock(fd: int, db: Path) -> bool | None:
    """True when locked, False when another process holds it, None without flock."""
    try:
        import fcntl  # POSIX only: elsewhere the recorded holder decides
    except ImportError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
            return None
        raise StoreError(f"cannot take the lease on {db}: {exc.strerror}") from None
    return True
