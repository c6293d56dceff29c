"""Discoverable memorization: give the model a true k-token prefix, greedy-decode, and see
whether it reproduces the true next m tokens (k = m = 50 by default; the Pythia evaluations
used 32/32, available as the ``pythia`` preset).

Sources of (prefix, suffix) pairs, in order of preference:
- ``passages``: explicit ``(id, text)`` pairs (the reference scan uses its planted passages),
  one probe from the start of each unless ``stride`` is set; or files of the user's own works
  (``--set discoverable.passages=works.jsonl``; JSON lines with ``text_field``/``id_field``,
  or plain text files, one work each), over which windows of k+m tokens slide with ``stride``
  (default k+m: back to back), at most ``max_windows`` per work;
- the lm-extraction-benchmark format: ``prefix_npy``/``suffix_npy`` arrays of token ids,
  decoded with ``tokenizer`` (the benchmark uses GPT-2's);
- otherwise random windows of k+m tokens from the scan's corpus index.

Every prompt carries ``true_suffix_ids``, ``true_suffix`` and ``prefix_ids`` in its meta, and
the ``tokenizer`` fingerprint those ids belong to, for the discoverable detector; ``bos``
(whether the prompt starts with the target's BOS token) and ``np_sampling`` (the sampling
scheme the (n, p) figures are computed for, see :mod:`regurgitate.runtimes.sampling`).

BOS: models whose training documents began with a BOS token (GPT-2-style ``<|endoftext|>``
between documents) reproduce a document's text best when the prompt starts with it too.
``bos=auto`` (default) prepends the target's BOS token when its tokenizer has one and does not
add it by itself (see :func:`resolve_bos`, called with the target's profile the driver
resolved once and recorded in the run, so every executor builds the same prompts); ``yes`` always
prepends it (an error when the target has none); ``no`` never does.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from regurgitate.attacks.base import Attack, AttackContext
from regurgitate.attacks.corpus_windows import sample_windows
from regurgitate.corpus.tokenizer import Tokenizer, load_tokenizer
from regurgitate.errors import ConfigError
from regurgitate.types import GenerationSettings, Prompt

if TYPE_CHECKING:
    from regurgitate.targets.profile import TargetProfile

PRESETS: dict[str, tuple[int, int]] = {"default": (50, 50), "pythia": (32, 32)}


@dataclass(frozen=True)
class DiscoverableAttack(Attack):
    #: tokens of the true prefix given as the prompt
    prefix_tokens: int = 50
    #: tokens of the true suffix the greedy continuation must reproduce
    suffix_tokens: int = 50
    #: how many probes are sampled from the corpus
    num_prompts: int = 64
    #: (id, text) pairs, or (from the command line) file paths, comma-separated
    passages: str | Sequence[tuple[str, str]] = ()
    #: lm-extraction-benchmark prefixes (.npy of token ids), with suffix_npy
    prefix_npy: str | None = None
    #: lm-extraction-benchmark suffixes (.npy of token ids), with prefix_npy
    suffix_npy: str | None = None
    #: tokenizer turning the .npy token ids into prompt text
    tokenizer: str | None = None
    #: pythia (32/32) or default (50/50) prefix/suffix lengths
    preset: str | None = None
    #: extra tokens generated past the suffix, so a verbatim span can extend beyond it
    extra_tokens: int = 0
    #: window step over each work (None: one probe per inline passage, k+m for files)
    stride: int | None = None
    #: at most this many windows per work
    max_windows: int | None = None
    #: JSONL field holding the text of a passages file
    text_field: str = "text"
    #: JSONL field holding the id of a passages file
    id_field: str = "id"
    #: start prompts with the target's BOS token: auto, yes or no
    bos: str = "auto"
    #: the BOS token text, set by :func:`resolve_bos` from the target
    bos_text: str | None = None
    #: the sampling scheme the (n, p) figures are computed for
    np_temperature: float = 1.0
    #: top-k of the sampling scheme the (n, p) figures are computed for
    np_top_k: int = 0
    #: top-p of the sampling scheme the (n, p) figures are computed for
    np_top_p: float = 1.0
    name: str = field(default="discoverable", init=False)
    default_order: ClassVar[int | None] = 20
    needs_index: ClassVar[bool] = True

    @classmethod
    def preset_options(cls, preset: str) -> frozenset[str]:
        return frozenset({"prefix_tokens", "suffix_tokens"} if preset in PRESETS else ())

    def __post_init__(self) -> None:
        if self.preset is not None:
            if self.preset not in PRESETS:
                raise ConfigError(f"unknown discoverable preset '{self.preset}'",
                                  hint=f"choose one of {', '.join(PRESETS)}")
            k, m = PRESETS[self.preset]
            object.__setattr__(self, "prefix_tokens", k)
            object.__setattr__(self, "suffix_tokens", m)
        if self.prefix_tokens < 1 or self.suffix_tokens < 1 or self.num_prompts < 1:
            raise ConfigError("discoverable prefix_tokens, suffix_tokens and num_prompts "
                              "must be >= 1")
        if (self.prefix_npy is None) != (self.suffix_npy is None):
            raise ConfigError("give both prefix_npy and suffix_npy (lm-extraction-benchmark)")
        if self.prefix_npy is not None and self.tokenizer is None:
            raise ConfigError("the lm-extraction-benchmark arrays need tokenizer=PATH "
                              "to turn token ids into prompt text")
        if self.bos not in ("auto", "yes", "no"):
            raise ConfigError(f"discoverable.bos must be auto, yes or no, not '{self.bos}'")
        if (self.stride is not None and self.stride < 1) or (
                self.max_windows is not None and self.max_windows < 1):
            raise ConfigError("discoverable stride and max_windows must be >= 1")
        from regurgitate.runtimes.sampling import Sampling

        Sampling(self.np_temperature, self.np_top_k, self.np_top_p)  # validates
        if isinstance(self.passages, str):
            object.__setattr__(self, "passages", tuple(
                p.strip() for p in self.passages.split(",") if p.strip()))
        if self.passages and all(isinstance(p, str) for p in self.passages):
            files = [Path(str(p)) for p in self.passages]
            object.__setattr__(self, "passages", tuple(
                w for f in files for w in load_works(f, self.text_field, self.id_field)))
            if self.stride is None:
                object.__setattr__(self, "stride", self.prefix_tokens + self.suffix_tokens)
        elif self.passages and not all(
                isinstance(p, tuple | list) and len(p) == 2 for p in self.passages):
            raise ConfigError("discoverable passages must be (id, text) pairs or file paths")

    def _settings(self, seed: int) -> GenerationSettings:
        return GenerationSettings(max_new_tokens=self.suffix_tokens + self.extra_tokens,
                                  greedy=True, temperature=0.0, seed=seed)

    def _prompt(self, i: int, tok: Tokenizer, prefix: np.ndarray, suffix: np.ndarray,
                ctx: AttackContext, meta: dict[str, object]) -> Prompt:
        if self.bos == "yes" and not self.bos_text:
            raise ConfigError("discoverable.bos=yes, but the target has no known BOS token",
                              hint="use discoverable.bos=auto or no")
        bos = self.bos_text if self.bos != "no" and self.bos_text else ""
        return Prompt(
            id=f"{self.name}/{i}", attack=self.name, text=bos + tok.decode(prefix),
            settings=self._settings(ctx.seed + i),
            meta={"prefix_ids": [int(t) for t in prefix],
                  "true_suffix_ids": [int(t) for t in suffix],
                  "true_suffix": tok.decode(suffix), "tokenizer": tok.fingerprint,
                  "k": self.prefix_tokens, "m": self.suffix_tokens, "bos": bool(bos),
                  "np_sampling": {"temperature": self.np_temperature, "top_k": self.np_top_k,
                                  "top_p": self.np_top_p}, **meta},
        )

    def prompts(self, ctx: AttackContext) -> list[Prompt]:
        k, m = self.prefix_tokens, self.suffix_tokens
        if self.prefix_npy is not None:
            return self._benchmark_prompts(ctx)
        if self.passages:
            tok = self._tokenizer(ctx)
            out: list[Prompt] = []
            pairs = [] if isinstance(self.passages, str) else self.passages  # str: loaded
            for pid, text in pairs:
                ids = tok.encode(text)
                if len(ids) < k + 1:
                    raise ConfigError(f"passage '{pid}' has {len(ids)} tokens; the "
                                      f"discoverable attack needs more than {k}")
                for start in self._window_starts(len(ids)):
                    meta: dict[str, object] = {"passage_id": pid}
                    if self.stride is not None:
                        meta["token_offset"] = start
                    out.append(self._prompt(len(out), tok, ids[start:start + k],
                                            ids[start + k:start + k + m], ctx, meta))
            return out
        if ctx.index is None:
            raise ConfigError("the discoverable attack needs true prefixes",
                              hint="pass --index DIR, or passages / prefix_npy+suffix_npy")
        tok = ctx.index.tokenizer
        return [
            self._prompt(i, tok, w.ids[:k], w.ids[k:], ctx,
                         {"doc_id": w.doc_id, "token_offset": w.offset})
            for i, w in enumerate(sample_windows(ctx.index, k + m, self.num_prompts,
                                                 seed=ctx.seed + 31))
        ]

    def _window_starts(self, n: int) -> list[int]:
        """Window starts over a work of ``n`` tokens: full k+m windows every ``stride``
        tokens (the first window only without a stride; a work shorter than k+m gives one
        probe with a shorter suffix)."""
        k, m = self.prefix_tokens, self.suffix_tokens
        if self.stride is None or n < k + m:
            return [0]
        starts = list(range(0, n - (k + m) + 1, self.stride))
        return starts[:self.max_windows] if self.max_windows else starts

    def _tokenizer(self, ctx: AttackContext) -> Tokenizer:
        if self.tokenizer is not None:
            return load_tokenizer(self.tokenizer)
        if ctx.index is None:
            raise ConfigError("discoverable passages need a tokenizer",
                              hint="pass --index DIR or tokenizer=PATH")
        return ctx.index.tokenizer

    def _benchmark_prompts(self, ctx: AttackContext) -> list[Prompt]:
        tok = self._tokenizer(ctx)
        try:
            prefixes = np.load(str(self.prefix_npy))
            suffixes = np.load(str(self.suffix_npy))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read lm-extraction-benchmark arrays: {exc}") from exc
        if prefixes.ndim != 2 or suffixes.ndim != 2 or len(prefixes) != len(suffixes):
            raise ConfigError("prefix/suffix arrays must be 2-D with the same number of rows",
                              hint=f"got {prefixes.shape} and {suffixes.shape}")
        n = min(len(prefixes), self.num_prompts)
        return [self._prompt(i, tok, prefixes[i][-self.prefix_tokens:],
                             suffixes[i][:self.suffix_tokens], ctx, {"example_id": i})
                for i in range(n)]


def load_works(path: Path, text_field: str = "text",
               id_field: str = "id") -> list[tuple[str, str]]:
    """A user's works as (id, text): JSON lines (``text_field``, ``id_field``; the id defaults
    to ``FILE:LINE``), a plain text file (one work, id = the file name), or a folder of
    ``.txt`` files."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not files:
            raise ConfigError(f"discoverable passages: no .txt files in {path}")
        return [w for f in files for w in load_works(f, text_field, id_field)]
    if not path.is_file():
        raise ConfigError(f"discoverable passages: no such file: {path}",
                          hint="give a JSONL file of works, a text file, or a folder of .txt")
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"discoverable passages: cannot read {path}: {exc}") from None
    if path.suffix.lower() not in (".jsonl", ".json", ".ndjson"):
        if not raw.strip():
            raise ConfigError(f"discoverable passages: {path} is empty")
        return [(path.name, raw)]
    works: list[tuple[str, str]] = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{n}: not JSON ({exc.msg})") from None
        text = rec.get(text_field) if isinstance(rec, dict) else None
        if not isinstance(text, str):
            raise ConfigError(f"{path}:{n}: no text field '{text_field}'",
                              hint="set discoverable.text_field=NAME")
        wid = rec.get(id_field)
        works.append((str(wid) if wid is not None else f"{path.name}:{n}", text))
    if not works:
        raise ConfigError(f"discoverable passages: no works in {path}")
    return works


def resolve_bos(attack: Any, profile: TargetProfile) -> Any:
    """``attack`` with its BOS text set from the target's resolved ``profile`` (other attacks
    pass unchanged). The profile is resolved once by the driver and recorded in the run
    (:mod:`regurgitate.targets.profile`), so the prompts are the same on every executor.

    auto: the target tokenizer's BOS token when it has one and does not add it by itself
    (GPT-2-style models, trained on documents each preceded by ``<|endoftext|>``); nothing
    for targets without a local tokenizer (HTTP APIs). yes: that token, whether or not."""
    if not isinstance(attack, DiscoverableAttack) or attack.bos == "no":
        return attack
    if not profile.bos_token:
        if attack.bos == "yes":
            raise ConfigError("discoverable.bos=yes, but the target has no known BOS token",
                              hint="use discoverable.bos=auto or no")
        return attack
    if attack.bos == "auto" and profile.adds_bos:
        return attack
    return dataclasses.replace(attack, bos_text=profile.bos_token)


def write_guess_csv(path: Path, guesses: Sequence[tuple[int, Sequence[int], float]]) -> int:
    """Write an lm-extraction-benchmark submission: rows ``Example ID,Suffix Guess`` with the
    guess as ``[id, id, ...]``, ordered by decreasing confidence (the score counts recall
    before the 100th wrong guess). ``guesses`` = (example id, suffix token ids, confidence)."""
    ordered = sorted(guesses, key=lambda g: -g[2])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Example ID", "Suffix Guess"])
        for ex_id, ids, _conf in ordered:
            w.writerow([ex_id, "[" + ", ".join(str(int(t)) for t in ids) + "]"])
    return len(ordered)
