"""Tokenizers the index understands: raw UTF-8 bytes or any local Hugging Face tokenizer.

A tokenizer has a ``fingerprint`` (a hash of its definition) that an index records; queries
tokenized with a different fingerprint are refused (:class:`TokenizerMismatchError`).
Its ``definition`` is a hash of what it does, whatever file it was loaded from (the
``tokenizers`` definition without padding and truncation state, :func:`definition_fingerprint`):
the fingerprint a target's profile records for its tokenizer, so an index's tokenizer and a
target's compare equal when they encode alike. A target's own tokenizer
(:meth:`HFTokenizer.from_definition`) has its definition as its fingerprint.
The largest value of the id dtype is reserved as the document separator (infini-gram's
convention: 0xff, 0xffff, 0xffffffff), so the vocabulary must stay below it.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from regurgitate.errors import TokenizerError


def dtype_for_vocab(vocab_size: int) -> np.dtype:
    """Smallest unsigned dtype whose max value (the separator) is not a token id."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if vocab_size <= np.iinfo(dt).max:
            return np.dtype(dt)
    raise TokenizerError(f"vocabulary of {vocab_size} ids does not fit in 32-bit token ids")


def definition_fingerprint(tokenizer_json: str) -> str:
    """The fingerprint of a ``tokenizers`` definition (JSON), leaving out the padding and
    truncation state a batch call leaves behind: equal for the same tokenizer however it was
    saved or loaded (a target's profile records it, :mod:`regurgitate.targets.profile`)."""
    raw = json.loads(tokenizer_json)
    text = json.dumps({k: v for k, v in raw.items() if k not in ("padding", "truncation")},
                      sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Tokenizer(ABC):
    """Turns text into token ids (and back) with character offsets for every token."""

    name: str
    fingerprint: str
    vocab_size: int

    @property
    def definition(self) -> str:
        """A fingerprint of what the tokenizer does, independent of the file it came from
        (equal to a target profile's ``tokenizer`` for the same tokenizer)."""
        return self.fingerprint

    @property
    def unit(self) -> str:
        """What one of its ids is, in words: ``bytes`` or ``tokens``."""
        return "tokens"

    @property
    def dtype(self) -> np.dtype:
        return dtype_for_vocab(self.vocab_size)

    @abstractmethod
    def encode_batch(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids of each text, in the tokenizer's dtype."""

    @abstractmethod
    def encode_offsets(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and an ``(n, 2)`` array of [start, end) character offsets per token."""

    @abstractmethod
    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Text of a token sequence (invalid bytes replaced)."""

    def encode(self, text: str) -> np.ndarray:
        return self.encode_batch([text])[0]

    def describe(self) -> dict[str, object]:
        """What an index stores about the tokenizer that built it."""
        return {"name": self.name, "fingerprint": self.fingerprint, "vocab_size": self.vocab_size}


class ByteTokenizer(Tokenizer):
    """Raw UTF-8 bytes: one token per byte, ids 0..254 (0xff never occurs in UTF-8)."""

    name = "bytes"
    fingerprint = "bytes-utf8"
    vocab_size = 255

    @property
    def unit(self) -> str:
        return "bytes"

    def encode_batch(self, texts: Sequence[str]) -> list[np.ndarray]:
        return [np.frombuffer(t.encode("utf-8", "surrogatepass"), dtype=np.uint8) for t in texts]

    def encode_offsets(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        data = text.encode("utf-8", "surrogatepass")
        ids = np.frombuffer(data, dtype=np.uint8)
        # Character index of every byte: count the bytes that start a character (not 10xxxxxx).
        starts = (ids & 0xC0) != 0x80
        char_of_byte = np.cumsum(starts) - 1
        offsets = np.empty((len(ids), 2), dtype=np.int64)
        offsets[:, 0] = char_of_byte
        offsets[:, 1] = char_of_byte + 1
        return ids, offsets

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        return bytes(np.asarray(ids, dtype=np.uint8)).decode("utf-8", errors="replace")


class HFTokenizer(Tokenizer):
    """A Hugging Face ``tokenizers`` tokenizer loaded from a local ``tokenizer.json``."""

    #: longest piece of text handed to ``tokenizers`` at once (see :meth:`encode_batch`)
    max_chunk_chars: int = 1 << 20

    def __init__(self, path: str | Path, name: str | None = None) -> None:
        from tokenizers import Tokenizer as _Tok

        path = Path(path)
        file = path / "tokenizer.json" if path.is_dir() else path
        if not file.is_file():
            raise TokenizerError(
                f"no tokenizer at {path}",
                hint="give a tokenizer.json file, a directory saved with save_pretrained, "
                "or 'bytes'",
            )
        raw = file.read_bytes()
        try:
            self._tok = _Tok.from_str(raw.decode("utf-8"))
        except Exception as exc:  # tokenizers raises plain Exceptions
            raise TokenizerError(f"cannot load tokenizer {file}: {exc}") from exc
        self.file: Path | None = file
        self.json_bytes = raw
        self.name = name or (path.name if path.is_dir() else file.parent.name or file.stem)
        self.fingerprint = "sha256:" + hashlib.sha256(raw).hexdigest()[:16]
        self.vocab_size = self._tok.get_vocab_size(with_added_tokens=True)
        self._definition: str | None = None

    @classmethod
    def from_definition(cls, tokenizer_json: str, name: str) -> HFTokenizer:
        """A tokenizer from its ``tokenizers`` JSON definition (a target's own, as its
        Hugging Face tokenizer holds it), without padding or truncation; its fingerprint is
        its :attr:`definition` (what a target's profile records)."""
        from tokenizers import Tokenizer as _Tok

        try:
            tok = _Tok.from_str(tokenizer_json)
        except Exception as exc:  # tokenizers raises plain Exceptions
            raise TokenizerError(f"cannot load the tokenizer of {name}: {exc}") from exc
        tok.no_padding()
        tok.no_truncation()
        self = cls.__new__(cls)
        self._tok = tok
        self.file = None
        self.json_bytes = tokenizer_json.encode("utf-8")
        self.name = name
        self._definition = definition_fingerprint(tokenizer_json)
        self.fingerprint = self._definition
        self.vocab_size = tok.get_vocab_size(with_added_tokens=True)
        return self

    @property
    def definition(self) -> str:
        known = self._definition
        if known is None:
            known = self._definition = definition_fingerprint(self._tok.to_str())
        return known

    def encode_batch(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids of each text, in bounded memory: ``tokenizers`` holds ~150 bytes per
        character while encoding, so texts are cut into pieces of at most
        ``max_chunk_chars`` and encoded ``max_chunk_chars * 2`` characters at a time.

        A cut is placed where a non-space character is followed by whitespace; pre-tokenizers
        that split there (byte-level BPE as in GPT-2/Llama, whitespace splitting) give the
        same ids as encoding the whole text. Other tokenizers, and text without whitespace
        for ``max_chunk_chars`` characters (cut wherever it is), may tokenize differently at
        a cut: at most one place per ``max_chunk_chars`` characters."""
        pieces: list[str] = []
        owner: list[int] = []
        for k, text in enumerate(texts):
            for piece in split_text(text, self.max_chunk_chars):
                pieces.append(piece)
                owner.append(k)
        parts: list[list[np.ndarray]] = [[] for _ in texts]
        group: list[int] = []
        size = 0
        for i, piece in enumerate(pieces):
            group.append(i)
            size += len(piece)
            if size >= 2 * self.max_chunk_chars or i == len(pieces) - 1:
                for j, ids in zip(group, self._encode([pieces[j] for j in group]),
                                  strict=True):
                    parts[owner[j]].append(ids)
                group, size = [], 0
        dt = self.dtype
        return [np.concatenate(p).astype(dt, copy=False) if len(p) > 1 else
                (p[0] if p else np.zeros(0, dtype=dt)) for p in parts]

    def _encode(self, texts: list[str]) -> list[np.ndarray]:
        dt = self.dtype
        encs = self._tok.encode_batch_fast(texts, add_special_tokens=False) \
            if hasattr(self._tok, "encode_batch_fast") else \
            self._tok.encode_batch(texts, add_special_tokens=False)
        return [np.asarray(e.ids, dtype=dt) for e in encs]

    def encode_offsets(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        enc = self._tok.encode(text, add_special_tokens=False)
        ids = np.asarray(enc.ids, dtype=self.dtype)
        offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
        return ids, offsets

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=False)


_CUT = re.compile(r"\S(?=\s)")


def split_text(text: str, max_chars: int) -> list[str]:
    """``text`` cut into pieces of at most ``max_chars`` characters, each cut just before
    whitespace that follows a non-space character (in the second half of the piece), or
    at ``max_chars`` when there is none."""
    if len(text) <= max_chars:
        return [text]
    out: list[str] = []
    start = 0
    while len(text) - start > max_chars:
        end = start + max_chars
        cut = end
        for m in _CUT.finditer(text, start + max_chars // 2, end):
            cut = m.end()
        out.append(text[start:cut])
        start = cut
    out.append(text[start:])
    return out


def load_tokenizer(spec: str | Path) -> Tokenizer:
    """``"bytes"``, a ``tokenizer.json`` path, or a directory holding one."""
    if str(spec) == "bytes":
        return ByteTokenizer()
    path = Path(spec)
    if not path.exists():
        raise TokenizerError(
            f"tokenizer '{spec}' not found",
            hint="use 'bytes' or the path of a local tokenizer.json / tokenizer directory",
        )
    return HFTokenizer(path)


def tokenizer_from_description(desc: dict[str, object], index_dir: Path) -> Tokenizer:
    """Re-create the tokenizer an index recorded (an HF one is copied into the index dir)."""
    if desc.get("name") == "bytes" and desc.get("fingerprint") == ByteTokenizer.fingerprint:
        return ByteTokenizer()
    file = index_dir / "tokenizer.json"
    if not file.is_file():
        raise TokenizerError(f"index {index_dir} records tokenizer {json.dumps(desc)} "
                             "but has no tokenizer.json")
    tok = HFTokenizer(file, name=str(desc.get("name")))
    if tok.fingerprint != desc.get("fingerprint"):
        raise TokenizerError(f"tokenizer.json in {index_dir} does not match the fingerprint "
                             "recorded in the index metadata")
    return tok
