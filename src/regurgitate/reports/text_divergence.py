"""Divergence figures the way the ChatGPT extraction study measured them, from one run.

Two groups of generations of one divergence attack (``divergence``, ``repeated-token`` or
``special-chars``; each attack gets its own figures): its repeat prompts (``meta["word"]`` or
``meta["charset"]``) and the baseline of ordinary prompts with the same settings
(``meta["baseline"]``). For each:
outputs, generated tokens, memorized tokens (inside the union of verbatim spans) per 1,000
generated, outputs holding a verbatim span and unique memorized sequences. For the word group
also: the share that diverged and the share of diverged outputs holding a verbatim span that
starts *after* the divergence point, overall and split by the repeats before the point (1-2
against 3 or more). The ratio says how many times more often the attack
emitted memorized text than ordinary use did (``None`` when the baseline emitted none).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from regurgitate.detectors.base import Item
from regurgitate.findings import Finding
from regurgitate.reports.text_data import RunData
from regurgitate.reports.text_memorized import memorized_tokens, unique_memorized


@dataclass(frozen=True)
class SpanAfter:
    """A verbatim span of a diverged output, after its divergence point."""

    start: int
    end: int
    tokens: int
    count: int
    sources: tuple[str, ...]  # source document names (the corpus's own ids)
    documents: tuple[int, ...] = ()  # index document numbers
    #: count and size of the span's most repeated window (None: not recorded)
    window_count: int | None = None
    window_tokens: int | None = None


@dataclass(frozen=True)
class DivergedOutput:
    """One diverged output: its repetition, where it diverged, what it leaked afterwards."""

    generation_id: int
    prompt_id: str
    word: str
    repeats: int
    point: int  # character offset where the diverged text starts
    text: str
    spans_after: tuple[SpanAfter, ...]

    @property
    def longest_after(self) -> int:
        return max((s.tokens for s in self.spans_after), default=0)


@dataclass(frozen=True)
class GroupFigures:
    outputs: int
    generated_tokens: int
    memorized_tokens: int
    with_span: int  # outputs holding a verbatim span (anywhere)
    unique_sequences: int

    @property
    def per_1000(self) -> float | None:
        return 1000 * self.memorized_tokens / self.generated_tokens \
            if self.generated_tokens else None

    @property
    def with_span_rate(self) -> float | None:
        return self.with_span / self.outputs if self.outputs else None


#: how the repeat prompts of each attack are named in reports
ATTACK_LABELS: dict[str, str] = {
    "divergence": "Repeat a word",
    "repeated-token": "Repeat a token sequence",
    "special-chars": "Special characters",
}
#: buckets of "repeats before the divergence point"; "0" (a special-chars output that left
#: the run at once) is listed only when it holds an output
REPEAT_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0), ("1-2", 1, 2), (">=3", 3, None))


@dataclass(frozen=True)
class RepeatBucket:
    """Diverged outputs whose repetition had ``label`` repeats, and how many of them hold a
    verbatim span of the threshold after the point."""

    label: str
    diverged: int
    with_span_after: int

    @property
    def rate(self) -> float | None:
        return self.with_span_after / self.diverged if self.diverged else None


@dataclass(frozen=True)
class DivergenceFigures:
    attack: GroupFigures
    baseline: GroupFigures | None
    diverged: tuple[DivergedOutput, ...]  # most leaked first
    diverged_with_span_after: int
    #: the attack whose prompts these are
    attack_name: str = "divergence"
    #: diverged outputs by repeats before the point (1-2, >=3; 0 when any)
    by_repeats: tuple[RepeatBucket, ...] = ()

    @property
    def label(self) -> str:
        return ATTACK_LABELS.get(self.attack_name, self.attack_name)

    @property
    def divergence_rate(self) -> float | None:
        return len(self.diverged) / self.attack.outputs if self.attack.outputs else None

    @property
    def span_after_rate(self) -> float | None:
        return self.diverged_with_span_after / len(self.diverged) if self.diverged else None

    @property
    def ratio(self) -> float | None:
        """Memorized tokens per 1,000 generated: attack / baseline (None if undefined)."""
        a, b = self.attack.per_1000, self.baseline.per_1000 if self.baseline else None
        return a / b if a is not None and b else None


def _window(f: Finding) -> tuple[int | None, int | None]:
    """(count, tokens) of a verbatim finding's most repeated window, (None, None) without."""
    win = _field(f, "window")
    if win is None:
        return None, None
    count, tokens = _field(win, "count"), _field(win, "tokens")
    return (int(count) if count is not None else None,
            int(tokens) if tokens is not None else None)


def _field(obj: Any, name: str) -> Any:
    """A field of a finding's payload (typed payloads) or of its ``data`` dict (older runs);
    also reads source entries, which are dicts or small dataclasses."""
    payload = getattr(obj, "payload", None)
    if payload is not None:
        return getattr(payload, name, None)
    data = getattr(obj, "data", obj)
    if isinstance(data, dict):
        return data.get(name)
    return getattr(obj, name, None)


def _span_tokens(f: Finding) -> int:
    return int(_field(f, "tokens") or f.score or 0)


def _source_names(f: Finding) -> tuple[str, ...]:
    out: list[str] = []
    for s in _field(f, "sources") or ():
        name = _field(s, "name")
        out.append(str(name if name is not None else _field(s, "doc_id")))
    return tuple(out)


def _group(items: Sequence[Item], by_gen: dict[int, list[Finding]]) -> GroupFigures:
    ok = [it for it in items if it.generation.ok]
    findings = [f for it in ok for f in by_gen.get(it.generation_id, [])
                if f.kind == "verbatim"]
    texts = {it.generation_id: it.generation.text for it in ok}
    return GroupFigures(
        outputs=len(ok),
        generated_tokens=sum(int(it.generation.completion_tokens or 0) for it in ok),
        memorized_tokens=sum(memorized_tokens(
            [f for f in by_gen.get(it.generation_id, []) if f.kind == "verbatim"]) for it in ok),
        with_span=sum(1 for it in ok if any(f.kind == "verbatim"
                                            for f in by_gen.get(it.generation_id, []))),
        unique_sequences=len(unique_memorized(findings, texts)),
    )


def _diverged(it: Item, fs: Sequence[Finding]) -> DivergedOutput | None:
    div = next((f for f in fs if f.kind == "divergence" and f.start is not None), None)
    if div is None or div.start is None:
        return None
    point = div.start
    word = str(_field(div, "word") or it.prompt.meta.get("word") or "")
    # the last "repeat" may be the first word of the leaked text ("the the The chronicle..."),
    # so a span may start up to one repeat (plus a separator) before the point
    earliest = point - len(word) - 2
    spans = tuple(sorted(
        (SpanAfter(f.start, f.end, _span_tokens(f), int(_field(f, "count") or 0),
                   _source_names(f), tuple(int(x) for x in _field(f, "documents") or ()),
                   *_window(f))
         for f in fs if f.kind == "verbatim" and f.start is not None and f.end is not None
         and f.start >= earliest),
        key=lambda s: s.start))
    return DivergedOutput(
        generation_id=it.generation_id, prompt_id=it.prompt.id,
        word=word,
        repeats=int(_field(div, "repeats") or 0), point=point, text=it.generation.text,
        spans_after=spans)


def _is_repeat_prompt(it: Item) -> bool:
    meta = it.prompt.meta
    return isinstance(meta.get("word"), str) or isinstance(meta.get("charset"), str)


def _buckets(diverged: Sequence[DivergedOutput], min_tokens: int) -> tuple[RepeatBucket, ...]:
    out = []
    for label, low, high in REPEAT_BUCKETS:
        inside = [d for d in diverged if d.repeats >= low and (high is None or d.repeats <= high)]
        if low == 0 and not inside:
            continue
        out.append(RepeatBucket(label, len(inside),
                                sum(1 for d in inside if d.longest_after >= min_tokens)))
    return tuple(out)


def divergence_figures(run: RunData, min_tokens: int = 50,
                       attack: str | None = None) -> DivergenceFigures | None:
    """The figures of one divergence attack of ``run`` (``attack``; None: the first one with
    repeat prompts, ``divergence`` when there), or None when it has no repeat prompts."""
    names = divergence_attacks(run)
    if attack is None:
        attack = "divergence" if "divergence" in names else (names[0] if names else None)
    if attack is None or attack not in names:
        return None
    mine = [it for it in run.items if it.prompt.attack == attack]
    words = [it for it in mine if _is_repeat_prompt(it)]
    base = [it for it in mine if it.prompt.meta.get("baseline")]
    by_gen: dict[int, list[Finding]] = defaultdict(list)
    for f in run.findings:
        by_gen[f.generation_id].append(f)
    diverged = [d for it in words if it.generation.ok
                if (d := _diverged(it, by_gen.get(it.generation_id, []))) is not None]
    diverged.sort(key=lambda d: (-d.longest_after, d.generation_id))
    return DivergenceFigures(
        attack=_group(words, by_gen),
        baseline=_group(base, by_gen) if base else None,
        diverged=tuple(diverged),
        diverged_with_span_after=sum(1 for d in diverged if d.longest_after >= min_tokens),
        attack_name=attack,
        by_repeats=_buckets(diverged, min_tokens),
    )


def divergence_attacks(run: RunData) -> list[str]:
    """The attacks of ``run`` with repeat prompts, in the order they first appear."""
    return list(dict.fromkeys(it.prompt.attack for it in run.items if _is_repeat_prompt(it)))


def all_divergence_figures(run: RunData, min_tokens: int = 50) -> tuple[DivergenceFigures, ...]:
    """The figures of every divergence attack of ``run`` (``divergence`` first)."""
    names = sorted(divergence_attacks(run), key=lambda n: n != "divergence")
    return tuple(f for n in names if (f := divergence_figures(run, min_tokens, n)) is not None)
