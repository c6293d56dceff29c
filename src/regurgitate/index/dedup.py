"""Exact-substring deduplication of a corpus with a suffix-array index.

Semantics (keep-first ExactSubstr). The corpus is its documents in input order, each a
sequence of tokens (windows never cross documents). For every window of ``min_tokens``
consecutive tokens, if the same token sequence *starts earlier* in the corpus (an earlier
document, or earlier in the same one), every token of that window is removed. The first
occurrence of each repeated window is kept; all later copies are struck. Removed regions are
unions of such windows, so a repeated span of >= ``min_tokens`` tokens disappears from every
document but the one where it first occurs.

This follows google-research/deduplicate-text-datasets (Lee et al., 2022, "ExactSubstr"):
a suffix array finds every repeated window of a length threshold, and the covered ranges are
struck from the text. Two documented differences: their ``collect`` strikes *every* copy
(including the first), which ``strike_all=True`` reproduces here; and their threshold is in
bytes of the (optionally GPT-2 tokenized) stream, ours is in tokens of the chosen tokenizer
(``bytes`` for their byte-level behaviour). As there, striking text can join its neighbours.

Characters are removed when any token covering them is removed. Every input record is
written, in order, with its other fields (ids, metadata), where it came from and how much was
removed: a record that loses all its text is kept, emptied (``documents_emptied``), and one
whose text was empty or whitespace already is kept as it was (``documents_blank``; such records
hold no tokens and are not indexed).

Resuming: the work directory ``OUT.dedup-work`` holds the index, the removal marks and a
progress file; output goes to ``OUT.tmp`` (append-only, truncated back to the last recorded
document on resume) and is renamed to ``OUT`` at the very end. An input is never written.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from regurgitate.corpus.tokenizer import Tokenizer
from regurgitate.errors import ConfigError, TokenizerError
from regurgitate.types import Document

_CHUNK = 1 << 22


@dataclass(frozen=True)
class DedupReport:
    #: records read and written (every one is written)
    documents: int
    documents_changed: int
    documents_emptied: int
    tokens_in: int
    tokens_removed: int
    chars_in: int
    chars_removed: int
    bytes_in: int
    bytes_out: int
    #: records whose text was empty or whitespace on input (written unchanged)
    documents_blank: int = 0


def duplicate_starts(tokens: np.ndarray, order: np.ndarray, min_tokens: int, sep: int,
                     *, strike_all: bool = False) -> np.ndarray:
    """Start positions (into ``tokens``) of windows of ``min_tokens`` tokens that also start
    at an earlier position (or, with ``strike_all``, anywhere else). ``order`` lists every
    position in suffix-array order, so equal windows are neighbours in it."""
    n = tokens.size
    is_sep = np.concatenate(([0], np.cumsum(tokens == sep, dtype=np.int64)))
    ends = order + min_tokens
    valid = (ends <= n) & (is_sep[np.minimum(ends, n)] - is_sep[order] == 0)
    a, b = order[:-1], order[1:]
    eq = valid[:-1] & valid[1:]
    for k in range(min_tokens):
        idx = np.flatnonzero(eq)
        if idx.size == 0:
            break
        for c in range(0, idx.size, _CHUNK):
            part = idx[c:c + _CHUNK]
            eq[part] = tokens[a[part] + k] == tokens[b[part] + k]
    if not eq.any():
        return np.zeros(0, dtype=np.int64)
    # runs of equal neighbours are groups of identical windows; keep each group's first start
    starts_run = np.concatenate(([True], ~eq))
    group = np.cumsum(starts_run) - 1
    in_group = np.concatenate((eq, [False])) | np.concatenate(([False], eq))
    members = np.flatnonzero(in_group)
    pos = order[members]
    grp = group[members]
    if strike_all:
        return np.sort(pos)
    first = np.full(int(group[-1]) + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, grp, pos)
    return np.sort(pos[pos != first[grp]])


def removal_mask(n: int, starts: np.ndarray, min_tokens: int) -> np.ndarray:
    """Boolean mask of the tokens covered by windows starting at ``starts``."""
    delta = np.zeros(n + 1, dtype=np.int64)
    np.add.at(delta, starts, 1)
    np.add.at(delta, np.minimum(starts + min_tokens, n), -1)
    return np.cumsum(delta[:-1]) > 0


class _Work:
    """The resumable state of one dedup run."""

    def __init__(self, out: Path, settings: dict[str, Any]) -> None:
        self.dir = out.with_name(out.name + ".dedup-work")
        self.tmp = out.with_name(out.name + ".tmp")
        self.progress = self.dir / "progress.json"
        self.settings = settings
        state = self._load()
        if state is None or state.get("settings") != settings:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.tmp.unlink(missing_ok=True)
            self.dir.mkdir(parents=True)
            state = {"settings": settings, "docs_done": 0, "bytes": 0, "marks": False}
            self.save(state)
        self.state = state

    def _load(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.progress.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def save(self, state: dict[str, Any]) -> None:
        part = self.progress.with_suffix(".part")
        part.write_text(json.dumps(state), encoding="utf-8")
        os.replace(part, self.progress)
        self.state = state


def _record(doc: Document, text: str, text_field: str, removed: int) -> dict[str, Any]:
    meta = dict(doc.meta)
    rec: dict[str, Any] = dict(meta.pop("fields", {}) or {})
    if "id" in meta:  # the corpus's own document id, when the reader names one
        rec.setdefault("id", meta.pop("id"))
    rec[text_field] = text
    rec["dedup"] = {**meta, "removed_tokens": removed}
    return rec


def dedup_corpus(inputs: Sequence[Path], out: Path, tokenizer: Tokenizer, *, min_tokens: int,
                 text_field: str = "text", strike_all: bool = False,
                 progress: Callable[[str, int, int], None] | None = None) -> DedupReport:
    """Deduplicate ``inputs`` into the JSON lines file ``out`` (see the module docstring).
    ``progress(phase, documents, tokens)`` reports the two long passes, ``"indexing"`` and
    ``"writing"`` (documents and tokens done so far in that pass)."""
    from regurgitate.corpus.readers import read_corpus
    from regurgitate.index import build_index
    from regurgitate.index import format as fmt
    from regurgitate.index.open import open_local
    from regurgitate.index.shard import Shard

    if min_tokens < 1:
        raise ConfigError("--min-tokens must be >= 1")
    out = Path(out)
    resolved = {Path(p).resolve() for p in inputs}
    if out.resolve() in resolved or any(out.resolve().is_relative_to(p) for p in resolved
                                        if p.is_dir()):
        raise ConfigError(f"{out} is one of the inputs: dedup never writes over its input",
                          hint="choose another -o")
    settings = {"inputs": [str(p) for p in sorted(resolved)], "min_tokens": min_tokens,
                "tokenizer": tokenizer.fingerprint, "text_field": text_field,
                "strike_all": strike_all,
                "sizes": [os.path.getsize(p) if Path(p).is_file() else None
                          for p in sorted(resolved)]}
    work = _Work(out, settings)

    def docs(keep_empty: bool = False) -> Iterator[Document]:
        return read_corpus(list(inputs), text_field=text_field, keep_empty=keep_empty)

    index_dir = work.dir / "index"
    if not (index_dir / fmt.MANIFEST).is_file():
        shutil.rmtree(index_dir, ignore_errors=True)
        build_index(docs(), index_dir, tokenizer, shard_tokens=2**62,
                    progress=None if progress is None else
                    (lambda d, t: progress("indexing", d, t)))
    open_local(index_dir, tokenizer=tokenizer)  # checks the files read below
    marks_path = work.dir / "removed.npy"
    # the index's own memory maps (checked like any open index), not copies of its files
    shard = Shard(index_dir, 0, np.dtype(tokenizer.dtype))
    if not work.state["marks"] or not marks_path.is_file():
        data = shard.tokens(0, shard.n)
        ptrs = shard.pointers(np.arange(shard.n, dtype=np.int64))  # bounds-checked
        starts = duplicate_starts(data, ptrs // shard.width, min_tokens,
                                  fmt.separator(shard.dtype), strike_all=strike_all)
        np.save(marks_path, np.packbits(removal_mask(data.size, starts, min_tokens)))
        work.save({**work.state, "marks": True, "tokens_total": int(data.size)})
        del data, ptrs
    removed = np.unpackbits(np.load(marks_path), count=int(work.state["tokens_total"])
                            ).astype(bool)
    doc_starts = shard.doc_starts.astype(np.int64) // shard.width + 1

    done, written = int(work.state["docs_done"]), int(work.state["bytes"])
    with open(work.tmp, "ab") as fh:
        fh.truncate(written)
    stats = {"changed": 0, "emptied": 0, "tok_in": 0, "tok_rm": 0, "ch_in": 0, "ch_rm": 0,
             "b_in": 0, "blank": 0, "records": 0}
    stats.update(work.state.get("stats", {}))
    indexed = -1  # the index holds the non-blank records only: its number of this record
    with open(work.tmp, "ab") as fh:
        for k, doc in enumerate(docs(keep_empty=True)):
            blank = not doc.text.strip()
            indexed += not blank
            if k < done:
                continue
            stats["records"] += 1
            if blank:  # kept as it is: nothing in it was indexed, nothing can be struck
                raw = (json.dumps(_record(doc, doc.text, text_field, 0), ensure_ascii=False)
                       + "\n").encode("utf-8")
                fh.write(raw)
                written += len(raw)
                stats["blank"] += 1
                stats["ch_in"] += len(doc.text)
                stats["b_in"] += len(doc.text.encode("utf-8"))
                continue
            ids, offs = tokenizer.encode_offsets(doc.text)
            start = int(doc_starts[indexed])
            end = int(doc_starts[indexed + 1]) - 1 if indexed + 1 < doc_starts.size \
                else removed.size
            if end - start != ids.size:  # the index must hold exactly these tokens
                raise TokenizerError(f"document {k} tokenizes to {ids.size} tokens with "
                                     f"offsets but to {end - start} in the index",
                                     hint="use a tokenizer whose batch and offset encodings "
                                     "agree (or --tokenizer bytes)")
            mask = removed[start:end]
            keep = np.ones(len(doc.text), dtype=bool)
            for s, e in offs[mask]:
                keep[s:e] = False
            text = "".join(c for c, kept in zip(doc.text, keep, strict=True) if kept) \
                if mask.any() else doc.text
            line = json.dumps(_record(doc, text, text_field, int(mask.sum())),
                              ensure_ascii=False) + "\n"
            raw = line.encode("utf-8")
            fh.write(raw)
            written += len(raw)
            stats["changed"] += int(bool(mask.any()))
            stats["emptied"] += int(bool(mask.any()) and not text.strip())
            stats["tok_in"] += int(ids.size)
            stats["tok_rm"] += int(mask.sum())
            stats["ch_in"] += len(doc.text)
            stats["ch_rm"] += len(doc.text) - len(text)
            stats["b_in"] += len(doc.text.encode("utf-8"))
            if progress is not None and (k + 1) % 100 == 0:
                progress("writing", k + 1 - done, stats["tok_in"])
            if (k + 1) % 1000 == 0:
                fh.flush()
                os.fsync(fh.fileno())
                work.save({**work.state, "docs_done": k + 1, "bytes": written, "stats": stats})
        fh.flush()
        os.fsync(fh.fileno())
    total_docs = int(stats["records"])
    os.replace(work.tmp, out)
    shutil.rmtree(work.dir, ignore_errors=True)
    return DedupReport(documents=total_docs, documents_changed=stats["changed"],
                       documents_emptied=stats["emptied"], tokens_in=stats["tok_in"],
                       tokens_removed=stats["tok_rm"], chars_in=stats["ch_in"],
                       chars_removed=stats["ch_rm"], bytes_in=stats["b_in"],
                       bytes_out=out.stat().st_size, documents_blank=stats["blank"])
