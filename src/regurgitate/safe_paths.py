"""Output files that can never destroy data: every report, export and other file regurgitate
writes goes through :func:`write_atomically`.

Rules, checked before anything is written:

* the destination must not be, or resolve to (relative paths, ``..``, symlinks, hard links:
  same device and inode), a run database or one of its ``-wal`` / ``-shm`` / ``-journal``
  files - those passed as ``protect``, and any existing file that starts with the SQLite
  header (every run database does);
* the destination must not be a directory, and its folder must exist (clear messages, no
  traceback).

The content is written to a temporary file in the destination's folder and renamed over the
destination, so a reader sees the old file or the new one, never half of one. **A symlink at
the destination is replaced by the new file; the file it pointed to is left untouched** (the
link is never written through). A destination file keeps its permission bits; a new one gets
0644.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from regurgitate.errors import ConfigError

T = TypeVar("T")

#: files SQLite keeps beside a database
SIDE_SUFFIXES = ("", "-wal", "-shm", "-journal")
_SQLITE_HEADER = b"SQLite format 3\x00"


def database_files(db: Path | str) -> list[Path]:
    """The database file and the files SQLite keeps beside it."""
    db = Path(db)
    return [db.with_name(db.name + s) for s in SIDE_SUFFIXES]


def _same_file(a: Path, b: Path) -> bool:
    try:
        sa, sb = a.stat(), b.stat()
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
    except OSError:
        return False


def check_output_path(out: Path | str, *, protect: Iterable[Path | str] = (),
                      what: str = "output") -> Path:
    """``out`` if writing there is safe (see the module docstring); else :class:`ConfigError`."""
    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"cannot write the {what} to {out}: it is a directory",
                          hint="give a file name, e.g. " + str(out / f"{what}.out"))
    parent = out.parent
    if not parent.is_dir():
        raise ConfigError(f"cannot write the {what} to {out}: folder {parent} does not exist",
                          hint=f"create it first: mkdir -p {parent}")
    target = out.resolve()
    guarded = [f for p in protect for f in database_files(p)]
    for g in guarded:
        if g.resolve() == target or out.absolute() == g.absolute() or _same_file(out, g):
            raise ConfigError(
                f"refusing to write the {what} to {out}: that is the run database "
                f"{Path(protect_name(g))} (or one of its files)",
                hint="choose another file name for the output")
    if _is_sqlite(out):
        raise ConfigError(f"refusing to overwrite {out}: it is an SQLite database "
                          "(a run database?)", hint="choose another file name for the output")
    return out


def protect_name(side_file: Path) -> str:
    """The database a side file (``x.db-wal``) belongs to."""
    name = str(side_file)
    for s in SIDE_SUFFIXES[1:]:
        if name.endswith(s):
            return name[: -len(s)]
    return name


def write_atomically(out: Path | str, write: Callable[[Path], T], *,
                     protect: Iterable[Path | str] = (), what: str = "output") -> T:
    """Check ``out``, call ``write(tmp)`` on a temporary file beside it, rename it over
    ``out``; returns what ``write`` returned. The temporary file never outlives a failure."""
    out = check_output_path(out, protect=protect, what=what)
    try:
        mode = stat.S_IMODE(out.lstat().st_mode) if out.is_file() and not out.is_symlink() \
            else 0o644
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    except OSError as exc:
        raise ConfigError(f"cannot write the {what} to {out}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        result = write(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, out)  # replaces a symlink itself, never the file it points to
    except OSError as exc:
        raise ConfigError(f"cannot write the {what} to {out}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return result


def write_text_atomically(out: Path | str, text: str, *, protect: Iterable[Path | str] = (),
                          what: str = "output") -> Path:
    """:func:`write_atomically` for a text file (UTF-8)."""
    path = Path(out)
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"),
                     protect=protect, what=what)
    return path
