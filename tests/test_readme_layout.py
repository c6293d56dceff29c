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


def _descriptions() -> list[tuple[list[str], str]]:
    """(entries, description) per line of the tree under src/regurgitate/; a description's
    continuation lines are joined to it."""
    block = _layout_block().split("src/regurgitate/", 1)[1].split("\ntools/", 1)[0]
    rows: list[tuple[list[str], str]] = []
    for line in block.splitlines():
        m = re.match(r"  (\S[^ ]*(?: \S[^ ]*)*?)(?:  +(.*)|$)", line)
        if m and not line.startswith("   "):
            rows.append(([n for n in m.group(1).split(", ") if n], m.group(2) or ""))
        elif rows and line.strip():
            rows[-1] = (rows[-1][0], rows[-1][1] + " " + line.strip())
    return rows


def _where(entry: str) -> list[Path]:
    """The source files of an entry (a package's, recursively, or the module itself)."""
    path = PKG / entry.rstrip("/")
    return sorted(path.rglob("*.py")) if entry.endswith("/") else [path]


#: names of other projects that look like class names
PRODUCTS = {"SQLite"}


def test_each_description_names_what_is_there() -> None:
    """What a description names is where the line says: modules and folders (``open.py``,
    ``membership_evidence/``, ``text_*``), identifiers with an underscore (``openai_compat``),
    classes (``HFScorer``), ``regurgitate COMMAND`` and ``regurgitate.dotted`` names."""
    commands = set(re.findall(r'command\("([\w-]+)"|name="([\w-]+)"',
                              (PKG / "cli" / "main.py").read_text(encoding="utf-8")))
    commands_flat = {c for pair in commands for c in pair if c}
    wrong: list[str] = []
    for entries, desc in _descriptions():
        package = next((e for e in entries if e.endswith("/")), None)
        files = [f for e in entries for f in _where(e)]
        names = {f.stem for f in files} | {f.parent.name for f in files}
        source = "\n".join(f.read_text(encoding="utf-8") for f in files)
        plain = re.sub(r"`[^`]*`", " ", desc)
        for token in re.findall(r"\b([\w*]+)(\.py|/)(?=[\s,;:)]|$)", plain):
            stem = token[0]
            if token[1] == ".py" and stem in ("pyproject",):
                continue
            pattern = re.compile("^" + re.escape(stem).replace(r"\*", ".*") + "$")
            if not any(pattern.match(n) for n in names):
                wrong.append(f"{entries[0]}: {stem}{token[1]}")
        for ident in re.findall(r"\b[a-z]+_[a-z_]+\b", plain):
            if package and ident not in names and ident not in source:
                wrong.append(f"{entries[0]}: {ident}")
        # class-like names: capitalised parts, ending in a lower-case letter (not "OpenAI")
        for cls in re.findall(r"\b((?:[A-Z]{2,}(?=[A-Z][a-z])|[A-Z][a-z0-9]+){2,})\b", plain):
            if cls not in PRODUCTS and not re.search(rf"^\s*class {cls}\b", source, re.M):
                wrong.append(f"{entries[0]}: class {cls}")
        for cmd in re.findall(r"`regurgitate ([\w-]+)`", desc):
            if cmd not in commands_flat:
                wrong.append(f"{entries[0]}: command {cmd}")
        for dotted in re.findall(r"`(regurgitate(?:\.\w+)+)`", desc):
            base = ROOT / "src" / Path(*dotted.split("."))
            if not (base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()):
                wrong.append(f"{entries[0]}: {dotted}")
    assert not wrong, f"README Layout describes what is not there: {wrong}"


#: the concepts issue 36 gave one home each: (layout entry, module, what it defines)
ONE_HOME = [
    ("index/", "open.py", "def open_index"),
    ("runtimes/", "scoring.py", "class HFScorer"),
    ("scan/", "pipeline.py", "class GenerationStage"),
    ("version.py", "version.py", "__version__ ="),
]


def test_each_concept_is_described_where_its_one_home_is() -> None:
    rows = {e: desc for entries, desc in _descriptions() for e in entries}
    for entry, module, defines in ONE_HOME:
        assert entry in rows, f"README Layout has no line for {entry}"
        if entry.endswith("/"):
            assert module in rows[entry], f"README Layout's {entry} line does not name {module}"
        path = PKG / entry.rstrip("/") / module if entry.endswith("/") else PKG / module
        assert defines in path.read_text(encoding="utf-8"), f"{path} has no {defines!r}"
