"""A CLIP tokenizer for the caption vocabulary, built offline (``vocab.json`` + ``merges.txt``).

The vocabulary holds CLIP's two special tokens, the 256 byte-level symbols (alone and as the end
of a word, ``</w>``) and, for every caption word, the left-to-right chain of merges that joins
its letters into one token. Any text still tokenizes (into byte symbols at worst); caption words
become one token each.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"


def _byte_symbols() -> list[str]:
    """GPT-2/CLIP's printable stand-ins for the 256 byte values, in byte order."""
    keep = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
            + list(range(ord("®"), ord("ÿ") + 1)))
    extra = 0
    out: dict[int, str] = {}
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return [out[b] for b in range(256)]


def _bpe(parts: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """Apply ranked merges to a word's symbols as BPE does: lowest rank first."""
    parts = list(parts)
    while len(parts) > 1:
        pairs = [(ranks.get((parts[i], parts[i + 1]), 1 << 30), i)
                 for i in range(len(parts) - 1)]
        rank, i = min(pairs)
        if rank == 1 << 30:
            break
        parts[i:i + 2] = [parts[i] + parts[i + 1]]
    return parts


def vocab_and_merges(words: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    """Byte symbols plus merges that make every word one token (repeated until none splits:
    a later word's merges may cut an earlier word differently)."""
    symbols = _byte_symbols()
    tokens = [BOS, EOS, *symbols, *(s + "</w>" for s in symbols)]
    seen = set(tokens)
    ranks: dict[tuple[str, str], int] = {}
    wanted = sorted(set(words))
    for _ in range(10):
        split = False
        for word in wanted:
            pieces = _bpe(list(word[:-1]) + [word[-1] + "</w>"], ranks)
            while len(pieces) > 1:  # join what is left, left to right
                split = True
                left, right = pieces[0], pieces[1]
                ranks[(left, right)] = len(ranks)
                if left + right not in seen:
                    tokens.append(left + right)
                    seen.add(left + right)
                pieces = [left + right, *pieces[2:]]
        if not split:
            break
    merges = [f"{a} {b}" for (a, b), _ in sorted(ranks.items(), key=lambda kv: kv[1])]
    return {t: i for i, t in enumerate(tokens)}, merges


def write_tokenizer(words: Iterable[str], out: Path, max_length: int) -> Path:
    """Write ``vocab.json``, ``merges.txt`` and the tokenizer configs into ``out``."""
    vocab, merges = vocab_and_merges(words)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n",
                                    encoding="utf-8")
    config: dict[str, Any] = {"tokenizer_class": "CLIPTokenizer", "model_max_length": max_length,
                              "bos_token": BOS, "eos_token": EOS, "pad_token": EOS,
                              "unk_token": EOS, "do_lower_case": True}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=1) + "\n")
    specials = {"bos_token": BOS, "eos_token": EOS, "pad_token": EOS, "unk_token": EOS}
    (out / "special_tokens_map.json").write_text(json.dumps(specials, indent=1) + "\n")
    return out


def load_tokenizer(folder: Path) -> Any:
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(str(folder))


def unknown_words(tokenizer: Any, words: Iterable[str]) -> list[str]:
    """Caption words that do not come out as exactly one known token."""
    bad = []
    for w in words:
        ids = tokenizer(w, add_special_tokens=False)["input_ids"]
        if len(ids) != 1 or tokenizer.convert_ids_to_tokens(ids)[0] != w + "</w>":
            bad.append(w)
    return bad
