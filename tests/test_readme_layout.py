"""README's "Layout" section names every top-level entry of src/regurgitate, and no entry
that is gone: a newcomer reads the tree there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "regurgitate"


def _layout_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


def _entries() -> set[str]:
    return {p.name + "/" if p.is_dir() else p.name for p in PKG.iterdir()
            if (p.is_dir() and (p / "__init__.py").is_file()) or p.suffix == ".py"}


def test_every_top_level_entry_is_in_the_readme_layout() -> None:
    block = _layout_block()
    missing = sorted(e for e in _entries() if not re.search(
        r"(?<![\w/.])" + re.escape(e) + (r"(?!\w)" if e.endswith(".py") else ""), block))
    assert not missing, f"README Layout does not name: {missing}"


def test_the_readme_layout_names_no_missing_entry() -> None:
    # the lines under src/regurgitate/ start with the entries they describe
    block = _layout_block().split("src/regurgitate/", 1)[1].split("\ntools/", 1)[0]
    named = set()
    for line in block.splitlines():
        m = re.match(r"  (\S[^ ]*(?: \S[^ ]*)*?)(?:  |$)", line)
        if m:
            named |= {n.split()[0] for n in m.group(1).split(", ") if n.strip()}
    stale = sorted(n for n in named if n and n not in _entries())
    assert not stale, f"README Layout names entries that do not exist: {stale}"
