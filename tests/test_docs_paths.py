"""Every path and module the docs name exists: a newcomer who opens `detectors/membership.py`
or `regurgitate.runtimes.scoring.HFScorer` from README.md or docs/*.md finds it there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "regurgitate"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: the repository's own top-level folders a path may start with
TOP = {"src", "tests", "benchmarks", "tools", "docs", "examples"}
#: paths in other projects the docs cite (their repository is named beside them)
ELSEWHERE = {"src/run.py"}

_PATH = re.compile(r"(?<![\w/.:-])([A-Za-z_][\w.-]*(?:/[\w.-]+)+/?)")
_MODULE = re.compile(r"(?<![\w.])(regurgitate(?:\.[A-Za-z_]\w*)+)")


def _packages() -> set[str]:
    return {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}


def _named_paths(text: str) -> set[str]:
    """Paths in backticks, and bare ones ending in .py, that start at the repository root or
    at a package of src/regurgitate (``index/query.py``)."""
    roots = TOP | _packages()
    found = set()
    for span in re.findall(r"`([^`\n]+)`", text) + re.findall(r"\S+\.py\b", text):
        for m in _PATH.finditer(span):
            path = m.group(1).rstrip(".,")
            if path.split("/")[0] in roots and "://" not in span:
                found.add(path)
    return found


def _module_file(parts: list[str]) -> tuple[Path, list[str]] | None:
    """The file of the longest module prefix of ``parts`` and the names after it."""
    for k in range(len(parts), 0, -1):
        base = ROOT / "src" / Path(*parts[:k])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate, parts[k:]
    return None


def test_every_path_the_docs_name_exists() -> None:
    missing = [f"{doc.name}: {p}" for doc in DOCS for p in sorted(_named_paths(doc.read_text()))
               if p not in ELSEWHERE and not (ROOT / p).exists() and not (PKG / p).exists()]
    assert not missing, f"docs name paths that do not exist: {missing}"


def test_every_module_the_docs_name_exists() -> None:
    wrong = []
    for doc in DOCS:
        for name in sorted(set(_MODULE.findall(doc.read_text()))):
            found = _module_file(name.split("."))
            if found is None:
                wrong.append(f"{doc.name}: {name} (no such module)")
                continue
            source, rest = found
            # module.name or module.Class.name: the first name is defined or imported there
            if rest and (len(rest) > 2 or not re.search(
                    rf"^\s*(?:def|class)\s+{rest[0]}\b|^\s*{rest[0]}\s*[:=]|\bimport\b.*\b{rest[0]}\b",
                    source.read_text(encoding="utf-8"), re.M)):
                wrong.append(f"{doc.name}: {name} (no {'.'.join(rest)} in {source.name})")
    assert not wrong, f"docs name modules or names that do not exist: {wrong}"


def test_the_check_sees_a_moved_path(tmp_path: Path) -> None:
    text = "see `detectors/membership.py`, `reference/background.py` and tests/x/test_gone.py"
    assert _named_paths(text) == {"detectors/membership.py", "reference/background.py",
                                  "tests/x/test_gone.py"}
    assert not (PKG / "reference/background.py").exists()
