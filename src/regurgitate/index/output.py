"""Where a build may write: replacing an existing folder is safe by construction.

``--force`` (``overwrite``) replaces a folder only when it *is* an index: it holds our
``manifest.json`` or infini-gram's ``tokenized``/``table``/``offset`` files, and nothing but
index files. It never replaces another non-empty folder, a file, the current working
directory or one of its ancestors. Builds write into a hidden sibling
``.NAME.building-PID`` that is renamed into place at the end; folders of builds whose process
is gone are removed by the next build next to them. The folder mechanics are
:mod:`regurgitate.safe_paths`' (shared with the image index); this module says what a corpus
index folder holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from regurgitate.index import format as fmt
from regurgitate.safe_paths import check_output_dir, clean_stale, replace_dir, temp_dir

__all__ = ["check_output", "clean_stale", "is_index_dir", "replace_dir", "temp_dir"]

_INDEX_FILE = re.compile(
    r"^(?:tokenized|table|offset|metadata|metaoff|prefix|sample|unigram|"
    r"fmbits|fmrank|fmnodes|fmsyms|fmsa|fmdocrow)\.\d+$")
_OUR_FILES = {fmt.MANIFEST, "tokenizer.json"}
_PART_DIR = re.compile(rf"^{re.escape(fmt.PART_PREFIX)}\d+$")


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
    """:func:`~regurgitate.safe_paths.check_output_dir` with a corpus index's tests."""
    check_output_dir(out_dir, overwrite, is_ours=is_ours, own_entry=own_entry, what=what)
