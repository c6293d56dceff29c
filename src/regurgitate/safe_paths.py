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
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
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


# -- folders a build writes: built in a hidden sibling, renamed into place ---------------------

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?:building|replaced)-(?P<pid>\d+)$")


def check_output_dir(out_dir: Path, overwrite: bool, *, is_ours: Callable[[Path], bool],
                     own_entry: Callable[[Path, str], bool], what: str) -> None:
    """Raise :class:`ConfigError` unless a build may write its folder at ``out_dir``: a new
    or empty folder, or with ``overwrite`` a folder ``is_ours`` recognises holding nothing
    but ``own_entry`` names; never the current directory or one of its parents. ``what``
    names the kind of folder (``an index (...)``) in the refusal."""
    resolved = out_dir.resolve()
    if resolved.exists() and not resolved.is_dir():
        raise ConfigError(f"{out_dir} is a file, not an index directory",
                          hint="choose a directory for --output")
    if not resolved.exists():
        return
    entries = sorted(p.name for p in resolved.iterdir())
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise ConfigError(f"refusing to replace {out_dir}: it is the current directory or "
                          "one of its parents", hint="choose a new folder for --output")
    if not entries:
        return
    if not overwrite:
        raise ConfigError(f"{out_dir} already exists",
                          hint="pass --force to replace it, or choose another --output")
    if not is_ours(resolved):
        raise ConfigError(f"refusing to replace {out_dir}: it is not {what}",
                          hint="--force only replaces an index; choose another --output")
    foreign = [e for e in entries if not own_entry(resolved, e)]
    if foreign:
        raise ConfigError(f"refusing to replace {out_dir}: besides the index it holds "
                          f"{len(foreign)} other file(s), e.g. {foreign[0]!r}",
                          hint="move them away first, or choose another --output")


def temp_dir(out_dir: Path, kind: str = "building") -> Path:
    """The hidden sibling a build of ``out_dir`` by this process writes into."""
    return out_dir.parent / f".{out_dir.name}.{kind}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(out_dir: Path) -> list[Path]:
    """Remove ``.NAME.building-PID`` / ``.NAME.replaced-PID`` folders next to ``out_dir``
    left by processes that no longer run; returns what was removed."""
    removed: list[Path] = []
    parent = out_dir.parent
    if not parent.is_dir():
        return removed
    for entry in parent.iterdir():
        m = _TEMP.match(entry.name)
        if not m or m.group("name") != out_dir.name or not entry.is_dir():
            continue
        pid = int(m.group("pid"))
        if pid == os.getpid() or _alive(pid):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def replace_dir(tmp: Path, out_dir: Path) -> None:
    """Move the finished build ``tmp`` to ``out_dir``; an old index there is moved aside
    first and removed after, so ``out_dir`` always holds a complete index."""
    old: Path | None = None
    if out_dir.exists():
        old = temp_dir(out_dir, "replaced")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def building(out_dir: Path, check: Callable[[], None]) -> Iterator[Path]:
    """Build the folder ``out_dir`` so that it is never half-written: ``check()`` (may the
    build write there?) runs before and again at the end; the build writes into the hidden
    sibling this yields, which replaces ``out_dir`` only once complete; a failed or
    interrupted build leaves nothing, and folders of dead builds beside it are removed."""
    check()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(out_dir)
    tmp = temp_dir(out_dir)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        check()  # nothing else appeared there meanwhile
        replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
