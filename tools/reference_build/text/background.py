"""Background documents for the reference corpus: docstrings of the local Python stdlib.

The Python standard library is distributed under the PSF License, which allows redistribution
of derived text; ``data/NOTICE`` says so. Modules are read in sorted path order, shuffled with
a seeded RNG, and their docstrings are packed into documents of a few KB until a byte budget is
reached. The result depends only on the seed, the budget and the stdlib of the running Python
(recorded as ``python_version`` and ``stdlib_fingerprint`` in the manifest).
"""

from __future__ import annotations

import ast
import hashlib
import random
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from regurgitate.errors import CorpusError

#: stdlib folders left out: test suites, GUI demos, vendored packages, build configuration
SKIP_PARTS = frozenset({"test", "tests", "idlelib", "site-packages", "dist-packages",
                        "turtledemo", "__pycache__", "lib2to3", "ensurepip", "tkinter"})
SEPARATOR = "<|endoftext|>"


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_modules(root: Path) -> list[Path]:
    """Every ``.py`` file under ``root`` outside :data:`SKIP_PARTS`, in sorted order."""
    files = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part in SKIP_PARTS or part.startswith("config-") for part in rel.parts[:-1]):
            continue
        files.append(path)
    return files


def module_docstrings(path: Path, root: Path) -> str:
    """The module, class and function docstrings of one file as one text ('' if none)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return ""
    module = ".".join(path.relative_to(root).with_suffix("").parts)
    parts: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                          | ast.AsyncFunctionDef):
            continue
        doc = ast.get_docstring(node)
        if not doc or len(doc) < 20:
            continue
        title = module if isinstance(node, ast.Module) else f"{module}.{node.name}"
        parts.append(f"{title}\n\n{doc.replace(SEPARATOR, '')}".strip())
    return "\n\n".join(parts)


def _chunks(text: str, target: int) -> Iterator[str]:
    """Split at paragraph boundaries into pieces of about ``target`` characters."""
    buf: list[str] = []
    size = 0
    for para in text.split("\n\n"):
        buf.append(para)
        size += len(para) + 2
        if size >= target:
            yield "\n\n".join(buf)
            buf, size = [], 0
    if buf and size >= target // 4:
        yield "\n\n".join(buf)


def stdlib_fingerprint(root: Path, files: list[Path]) -> str:
    h = hashlib.sha256()
    for path in files:
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return "sha256:" + h.hexdigest()[:16]


def background_documents(seed: int, budget_bytes: int, doc_chars: int = 3000,
                         root: Path | None = None) -> list[str]:
    """Docstring documents of about ``doc_chars`` characters, ``budget_bytes`` in total."""
    root = root or stdlib_root()
    files = stdlib_modules(root)
    if not files:
        raise CorpusError("no Python sources found in the standard library", path=str(root))
    random.Random(seed).shuffle(files)
    docs: list[str] = []
    total = 0
    for path in files:
        for chunk in _chunks(module_docstrings(path, root), doc_chars):
            docs.append(chunk)
            total += len(chunk.encode("utf-8"))
        if total >= budget_bytes:
            break
    if total < budget_bytes // 2:
        raise CorpusError(f"the standard library gave only {total} bytes of docstrings",
                          path=str(root))
    return docs
