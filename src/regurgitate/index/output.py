"""Where a build may write: replacing an existing folder is safe by construction.

``--force`` (``overwrite``) replaces a folder only when it *is* an index: it holds our
``manifest.json`` or infini-gram's ``tokenized``/``table``/``offset`` files, and nothing but
index files. It never replaces another non-empty folder, a file, the current working
directory or one of its ancestors. Builds write into a hidden sibling
``.NAME.building-PID`` that is renamed into place at the end; folders of builds whose process
is gone are removed by the next build next to them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from regurgitate.errors import ConfigError
from regurgitate.index import format as fmt

_INDEX_FILE = re.compile(
    r"^(?:tokenized|table|offset|metadata|metaoff|prefix|sample|unigram|"
    r"fmbits|fmsuper|fmblock|fmnodes|fmsyms|fmsa|fmdocrow)\.\d+$")
_OUR_FILES = {fmt.MANIFEST, "tokenizer.json"}
_PART_DIR = re.compile(rf"^{re.escape(fmt.PART_PREFIX)}\d+$")
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?:building|replaced)-(?P<pid>\d+)$")


def is_index_dir(path: Path) -> bool:
    """Whether ``path`` looks like an index: our manifest, or infini-gram's shard-0 files."""
    manifest = path / fmt.MANIFEST
    if manifest.is_file():
        try:
            head = manifest.read_text(encoding="utf-8", errors="replace")[:4096]
        except OSError:
            return False
        if any(name in head for name in fmt.FORMATS.values()):
            return True
    return all((path / f"{kind}.0").is_file() for kind in fmt.REQUIRED_SHARD_FILES)


def _own_index_entry(folder: Path, name: str) -> bool:
    return name in _OUR_FILES or bool(_INDEX_FILE.match(name)) or \
        bool(_PART_DIR.match(name) and (folder / name).is_dir())


def check_output(out_dir: Path, overwrite: bool, *,
                 is_ours: Callable[[Path], bool] = is_index_dir,
                 own_entry: Callable[[Path, str], bool] = _own_index_entry,
                 what: str = f"an index (no {fmt.MANIFEST}, no tokenized.0/table.0/offset.0)"
                 ) -> None:
    """Raise :class:`ConfigError` unless a build may write its index at ``out_dir``: a new
    or empty folder, or with ``overwrite`` a folder ``is_ours`` recognises holding nothing
    but ``own_entry`` names; never the current directory or one of its parents. Text
    indexes are the default; the image index passes its own tests and ``what``."""
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
