"""Windows over a user's works: the audit's prompts.

Each window is ``prefix_tokens + suffix_tokens`` tokens of a work (Cooper et al. 2025: 100-token
examples, a 50-token prefix and a 50-token suffix), slid along the whole work every ``stride``
tokens, the last window ending at the work's end. A window's prompt is its prefix (the
target's BOS token first when its training documents began with one, as in
:mod:`regurgitate.attacks.discoverable`, whose prompt format and meta these are); its meta
adds the work's id, the window's number and the character offsets of its suffix in the work
(``suffix_start``/``suffix_end``), which every figure and map uses.

Two ways to measure a window:
- ``samples=0`` (local models): the audit's window detector (:mod:`.detector`) scores the exact
  p of the suffix under the sampling scheme and whether greedy decoding reproduces it, both
  teacher-forced from one forward pass; the stored generation is one token unless
  ``generate`` asks for the whole greedy continuation;
- ``samples=N`` (APIs without log-probabilities): N sampled continuations per window under the
  sampling scheme (seeded); the window's rate is the share that reproduce the suffix exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from regurgitate.attacks.base import AttackContext
from regurgitate.attacks.discoverable import DiscoverableAttack
from regurgitate.audit.works import Work, load_works
from regurgitate.corpus.tokenizer import Tokenizer, load_tokenizer
from regurgitate.errors import ConfigError
from regurgitate.types import GenerationSettings, Prompt

#: Cooper et al. 2025's examples: 50-token prefix, 50-token suffix
PREFIX_TOKENS = 50
SUFFIX_TOKENS = 50
#: their sampling scheme for p: top-k 40 at temperature 1
TOP_K = 40
TEMPERATURE = 1.0
#: tokens between window starts (see docs/audit.md for the cost on 2 CPU cores)
STRIDE = 10
ATTACK = "audit"


def window_starts(n_tokens: int, k: int, m: int, stride: int) -> list[int]:
    """Starts of full k+m windows every ``stride`` tokens, plus one ending at the last token;
    a work shorter than one window gets none (it is named as too short, not scored)."""
    if n_tokens < k + m:
        return []
    starts = list(range(0, n_tokens - (k + m) + 1, stride))
    if starts[-1] != n_tokens - (k + m):
        starts.append(n_tokens - (k + m))
    return starts


@dataclass(frozen=True)
class AuditWindowsAttack(DiscoverableAttack):
    """Windows slid along each work (see the module docstring)."""

    prefix_tokens: int = PREFIX_TOKENS
    suffix_tokens: int = SUFFIX_TOKENS
    stride: int | None = STRIDE
    np_temperature: float = TEMPERATURE
    np_top_k: int = TOP_K
    #: the works: a path (text file, folder of .txt, JSONL) or loaded works
    works: str | tuple[Work, ...] = ()
    #: sampled continuations per window (0: one greedy continuation and exact p)
    samples: int = 0
    #: False: no windows at all (an audit of long-form recall or character copying only)
    windows: bool = True
    #: with samples=0: generate each window's full greedy continuation (as a scan with
    #: --attack audit does, for the discoverable detector); `regurgitate audit` turns it off
    #: and measures greedy and p by teacher forcing (about 50x cheaper)
    generate: bool = True
    #: the tokenizer windows are cut with (set by the audit from the target; else the index's)
    window_tokenizer: Any = None
    name: str = field(default=ATTACK, init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.works, str):
            object.__setattr__(self, "works", tuple(load_works(Path(self.works))))
        if self.samples < 0:
            raise ConfigError("audit samples must be >= 0")

    def _window_tokenizer(self, ctx: AttackContext) -> Tokenizer:
        if self.window_tokenizer is not None:
            return self.window_tokenizer  # type: ignore[no-any-return]
        if self.tokenizer is not None:
            return load_tokenizer(self.tokenizer)
        if ctx.index is None:
            raise ConfigError("the audit needs the target's tokenizer to cut windows",
                              hint="pass --tokenizer PATH (tokenizer.json or a model folder) "
                              "or --index DIR")
        return ctx.index.tokenizer

    def notes(self, ctx: AttackContext, prompts: Sequence[Prompt]) -> list[str]:
        """None: the audit states the tokenizer its windows were cut with in its method."""
        return []

    def _sampled(self, seed: int) -> GenerationSettings:
        return GenerationSettings(max_new_tokens=self.suffix_tokens,
                                  temperature=self.np_temperature, top_k=self.np_top_k,
                                  top_p=self.np_top_p, greedy=False, seed=seed,
                                  logprobs=False)

    def windows_possible(self, ctx: AttackContext) -> dict[str, tuple[int, int]]:
        """Per work id: (windows the protocol slides along it, its length in tokens); 0
        windows for a work shorter than one window. ``--max-windows`` measures fewer."""
        if not self.windows:
            return {}
        tok = self._window_tokenizer(ctx)
        k, m, stride = self.prefix_tokens, self.suffix_tokens, self.stride or 1
        works = self.works if isinstance(self.works, tuple) else ()
        out = {}
        for work in works:
            n = len(tok.encode_offsets(work.text)[0])
            out[work.id] = (len(window_starts(n, k, m, stride)), n)
        return out

    def prompts(self, ctx: AttackContext) -> list[Prompt]:
        if not self.windows:
            return []
        tok = self._window_tokenizer(ctx)
        k, m, stride = self.prefix_tokens, self.suffix_tokens, self.stride or 1
        out: list[Prompt] = []
        works = self.works if isinstance(self.works, tuple) else ()
        n = 0
        for w_no, work in enumerate(works):
            ids, offsets = tok.encode_offsets(work.text)
            starts = window_starts(len(ids), k, m, stride)
            if not starts:
                continue  # too short for one window: reported as such, never scored
            if self.max_windows:
                starts = starts[:self.max_windows]
            for i, s in enumerate(starts):
                suffix = ids[s + k:s + k + m]
                meta: dict[str, object] = {
                    "passage_id": work.id, "work_id": work.id, "window": i,
                    "token_offset": int(s), "prefix_start": int(offsets[s][0]),
                    "suffix_start": int(offsets[s + k][0]),
                    "suffix_end": int(offsets[s + k + len(suffix) - 1][1])}
                base = self._prompt(n, tok, ids[s:s + k], suffix, ctx, meta)
                if self.samples == 0:
                    settings = base.settings if self.generate else replace(
                        base.settings, max_new_tokens=1, logprobs=False)
                    out.append(replace(base, id=f"{self.name}/{w_no}/{i}", attack=self.name,
                                       settings=settings))
                else:
                    for j in range(self.samples):
                        out.append(replace(
                            base, id=f"{self.name}/{w_no}/{i}/{j}", attack=self.name,
                            settings=self._sampled(ctx.seed + n * self.samples + j),
                            meta={**base.meta, "sample": j}))
                n += 1
        return out
