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

Units: k and m are meant in the *target's* tokens. When the scan knows the target's tokenizer
(``AttackContext.target_tokenizer``, from the target's resolved profile) and it differs from
the index's (their :attr:`~regurgitate.corpus.tokenizer.Tokenizer.definition` fingerprints
differ, e.g. a ``bytes`` index), each pair is cut in the target's tokens: the index document
(or passage) text is encoded with the target's tokenizer and k+m-token windows slide over
that (an index window's start moves forward, a few tokens at most, to where its prefix text
encodes back to the same k tokens, so the model sees exactly k). The ids, the ``tokenizer``
fingerprint (the target's), ``token_offset`` (in those tokens) and ``unit`` = ``target
tokens`` go into the meta, and :meth:`DiscoverableAttack.notes` states the conversion (the
scan records it in the run, its reports show it). When the tokenizers are the same nothing is
converted; when the target's tokenizer is unknown (an HTTP API) the index's units are used and
the note says so (``unit`` = ``index bytes`` or ``index tokens``). A ``tokenizer`` the user
gives is used as given.

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
from regurgitate.attacks.corpus_windows import sample_text_windows, sample_windows
from regurgitate.corpus.tokenizer import Tokenizer, load_tokenizer
from regurgitate.errors import ConfigError
from regurgitate.types import GenerationSettings, Prompt

if TYPE_CHECKING:
    from regurgitate.targets.profile import TargetProfile

PRESETS: dict[str, tuple[int, int]] = {"default": (50, 50), "pythia": (32, 32)}

#: how the tokenizer a discoverable attack cuts its pairs with was chosen (``CutWith.how``)
SAME, CONVERTED, TARGET_UNKNOWN, GIVEN = "same", "converted", "target-unknown", "given"


@dataclass(frozen=True)
class CutWith:
    """The tokenizer prefixes and suffixes are counted in, and how it was chosen: ``same``
    (the index's is the target's, or only one of them is known and it is the target's),
    ``converted`` (the target's, the index counting other units), ``target-unknown`` (the
    index's: the target's tokenizer is unknown), ``given`` (``tokenizer=``)."""

    tokenizer: Tokenizer
    how: str

    @property
    def unit_meta(self) -> dict[str, object]:
        """What the prompt meta says about its units (nothing when they are the target's
        own with no conversion, so such prompts stay as they were)."""
        if self.how == CONVERTED:
            return {"unit": "target tokens"}
        if self.how == TARGET_UNKNOWN:
            return {"unit": f"index {self.tokenizer.unit}"}
        return {}


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
            cut = self._cut_with(ctx)
            tok = cut.tokenizer
            out: list[Prompt] = []
            pairs = [] if isinstance(self.passages, str) else self.passages  # str: loaded
            for pid, text in pairs:
                ids = tok.encode(text)
                if len(ids) < k + 1:
                    raise ConfigError(f"passage '{pid}' has {len(ids)} {tok.unit}; the "
                                      f"discoverable attack needs more than {k} {tok.unit}")
                for start in self._window_starts(len(ids)):
                    meta: dict[str, object] = {"passage_id": pid, **cut.unit_meta}
                    if self.stride is not None:
                        meta["token_offset"] = start
                    out.append(self._prompt(len(out), tok, ids[start:start + k],
                                            ids[start + k:start + k + m], ctx, meta))
            return out
        if ctx.index is None:
            raise ConfigError("the discoverable attack needs true prefixes",
                              hint="pass --index DIR, or passages / prefix_npy+suffix_npy")
        cut = self._cut_with(ctx)
        tok = cut.tokenizer
        if cut.how == CONVERTED:
            windows = sample_text_windows(ctx.index, tok, k + m, self.num_prompts,
                                          seed=ctx.seed + 31,
                                          keep=lambda ids: _round_trips(tok, ids[:k]))
        else:
            windows = sample_windows(ctx.index, k + m, self.num_prompts, seed=ctx.seed + 31)
        return [
            self._prompt(i, tok, w.ids[:k], w.ids[k:], ctx,
                         {"doc_id": w.doc_id, "token_offset": w.offset, **cut.unit_meta})
            for i, w in enumerate(windows)
        ]

    def notes(self, ctx: AttackContext, prompts: Sequence[Prompt]) -> list[str]:
        """The units of the prefixes and suffixes, when they are not simply the target's own
        tokens in an index counting the same: converted to the target's tokens from an index
        counting other units (with the median prefix length in UTF-8 bytes), or the index's
        units because the target's tokenizer is unknown."""
        if self.prefix_npy is not None or not prompts or (
                ctx.index is None and not self.passages):
            return []
        cut = self._cut_with(ctx)
        k, m = self.prefix_tokens, self.suffix_tokens
        index_tok = ctx.index.tokenizer if ctx.index is not None else None
        if cut.how == CONVERTED and index_tok is not None:
            sizes = sorted(len(cut.tokenizer.decode(p.meta["prefix_ids"]).encode("utf-8"))
                           for p in prompts if isinstance(p.meta.get("prefix_ids"), list))
            median = (sizes[(len(sizes) - 1) // 2] + sizes[len(sizes) // 2]) / 2 if sizes \
                else 0.0
            index_kind = ("a bytes index" if index_tok.unit == "bytes" else
                          f"an index in the tokens of another tokenizer ({index_tok.name}, "
                          f"fingerprint {index_tok.fingerprint})")
            source = "the passages, not " + index_kind if self.passages else index_kind
            return [f"{self.name}: {k}-token prefixes and {m}-token suffixes in the target's "
                    f"tokenizer (fingerprint {cut.tokenizer.fingerprint}), cut from {source} "
                    f"(median {median:g} bytes per prefix)"]
        if cut.how == TARGET_UNKNOWN:
            tok = cut.tokenizer
            if tok.unit == "bytes":
                return [f"{self.name}: prefix lengths are {k} bytes of the index (suffixes "
                        f"{m} bytes), not the target's tokens: the target's tokenizer is "
                        "unknown"]
            return [f"{self.name}: prefix lengths are {k} tokens of the index's tokenizer "
                    f"({tok.name}; suffixes {m}), which may not be the target's: the "
                    "target's tokenizer is unknown"]
        return []

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
        return self._cut_with(ctx).tokenizer

    def _cut_with(self, ctx: AttackContext) -> CutWith:
        """The tokenizer the (prefix, suffix) pairs are counted in: ``tokenizer=`` when
        given; else the target's when it is known and the index's differs (or there is no
        index); else the index's."""
        if self.tokenizer is not None:
            return CutWith(load_tokenizer(self.tokenizer), GIVEN)
        index_tok = ctx.index.tokenizer if ctx.index is not None else None
        target_tok = ctx.target_tokenizer
        if target_tok is None:
            if index_tok is None:
                raise ConfigError("discoverable passages need a tokenizer",
                                  hint="pass --index DIR or tokenizer=PATH")
            return CutWith(index_tok, TARGET_UNKNOWN)
        if index_tok is None:
            return CutWith(target_tok, SAME)
        if index_tok.definition == target_tok.definition:
            return CutWith(index_tok, SAME)  # the index's ids, as the index names them
        return CutWith(target_tok, CONVERTED)

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


def _round_trips(tok: Tokenizer, prefix: np.ndarray) -> bool:
    """Whether the prefix's text encodes back to exactly its ids (a window cut inside a word
    may not: the model would then see other tokens than the k counted)."""
    return bool(np.array_equal(tok.encode(tok.decode(prefix)), prefix))


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
