"""A user's works: text files, folders of them, or JSON lines.

- a ``.txt`` (or any non-JSON) file is one work; its id is the file name without the suffix
  and its title the same;
- a folder: every ``*.txt`` below it, in path order (ids are the paths relative to the folder,
  without the suffix);
- ``.jsonl``/``.json``/``.ndjson``: one work a line with ``id`` and ``text``, optionally
  ``title``, ``chapters`` (a list of ``{"start": CHAR_OFFSET, "title": TEXT}``) and ``names``
  (the work's character names, for the character-copying measure).

Chapters of a text file are marked by lines that start with ``Chapter``/``CHAPTER`` followed
by a number or a word (``Chapter 3``, ``CHAPTER IV``, ``Chapter One: ...``); JSONL works give
theirs explicitly. Maps show chapters at these character offsets.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regurgitate.errors import ConfigError

_CHAPTER = re.compile(r"^[ \t]*(?:chapter|CHAPTER|Chapter)[ \t]+\S.*$", re.M)
JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")


@dataclass(frozen=True)
class Chapter:
    start: int
    title: str


@dataclass(frozen=True)
class Work:
    """One work under audit; offsets everywhere are character offsets into ``text``."""

    id: str
    text: str
    title: str
    chapters: tuple[Chapter, ...] = ()
    #: character names given by the user (None: extracted by rule when needed)
    names: tuple[str, ...] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def chars(self) -> int:
        return len(self.text)


def chapter_marks(text: str) -> tuple[Chapter, ...]:
    """Lines starting with ``Chapter``/``CHAPTER`` and a word, as chapters."""
    return tuple(Chapter(m.start() + (len(m.group(0)) - len(m.group(0).lstrip())),
                         m.group(0).strip()[:80]) for m in _CHAPTER.finditer(text))


def _read(path: Path) -> str:
    """A work's text, by the corpus readers' rule for a text file (.gz/.zst decompressed;
    a PDF or Office file: extract the text first; one message for a file that is not text)."""
    from regurgitate.corpus.readers import file_format
    from regurgitate.corpus.records import ReadStats, Sink
    from regurgitate.corpus.textfiles import read_text_file
    from regurgitate.errors import CorpusError

    try:
        file_format(path)
        doc = read_text_file(path, str(path), str(path), Sink("stop", None, ReadStats()))
    except CorpusError as exc:
        raise ConfigError(f"cannot read the work {exc.message}",
                          hint=exc.hint if exc.hint and "extract" in exc.hint else
                          "works must be UTF-8 text or JSON lines") from None
    assert doc is not None  # "stop" raises instead of skipping
    return doc.text


def _text_work(path: Path, wid: str) -> Work:
    text = _read(path)
    if not text.strip():
        raise ConfigError(f"the work {path} is empty")
    return Work(id=wid, text=text, title=Path(wid).name, chapters=chapter_marks(text))


def _chapters(raw: Any, where: str, length: int) -> tuple[Chapter, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: 'chapters' must be a list of {{start, title}}")
    out = []
    for c in raw:
        if not isinstance(c, dict) or not isinstance(c.get("start"), int) \
                or not 0 <= c["start"] <= length:
            raise ConfigError(f"{where}: each chapter needs a character offset 'start' "
                              f"within the text (0..{length})")
        out.append(Chapter(int(c["start"]), str(c.get("title", ""))[:80]))
    return tuple(sorted(out, key=lambda c: c.start))


def _names(raw: Any, where: str) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(n, str) and n.strip() for n in raw):
        raise ConfigError(f"{where}: 'names' must be a list of non-empty strings")
    return tuple(n.strip() for n in raw)


def _jsonl_works(path: Path) -> list[Work]:
    works: list[Work] = []
    for n, line in enumerate(_read(path).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            rec: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not JSON ({exc.msg})",
                              hint="one work a line: {\"id\": ..., \"text\": ...}") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("text"), str) \
                or not rec["text"].strip():
            raise ConfigError(f"{where}: a work needs a non-empty 'text' field")
        wid = str(rec["id"]) if rec.get("id") is not None else f"{path.stem}:{n}"
        text = rec["text"]
        title = rec.get("title")
        works.append(Work(id=wid, text=text, title=str(title) if title else wid,
                          chapters=_chapters(rec.get("chapters"), where, len(text)),
                          names=_names(rec.get("names"), where)))
    if not works:
        raise ConfigError(f"no works in {path}")
    return works


def load_works(path: Path | str) -> list[Work]:
    """The works in a text file, a folder of ``.txt`` files, or a JSONL file; ids unique."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not files:
            raise ConfigError(f"no .txt files in {path}",
                              hint="give a folder of .txt works, a text file or JSONL")
        works = [_text_work(f, f.relative_to(path).with_suffix("").as_posix()) for f in files]
    elif not path.is_file():
        raise ConfigError(f"no such file or folder: {path}",
                          hint="give a text file, a folder of .txt files, or JSONL with "
                          "id and text")
    elif path.suffix.lower() in JSON_SUFFIXES:
        works = _jsonl_works(path)
    else:
        works = [_text_work(path, path.stem)]
    seen: set[str] = set()
    for w in works:
        if w.id in seen:
            raise ConfigError(f"two works share the id {w.id!r}", hint="give each work an id")
        seen.add(w.id)
    return works


def works_digest(works: Sequence[Work]) -> str:
    """A digest of ids and texts: a run refuses to resume over different works."""
    h = hashlib.sha256()
    for w in works:
        h.update(w.id.encode("utf-8") + b"\0" + w.text.encode("utf-8") + b"\1")
    return "sha256:" + h.hexdigest()[:16]
