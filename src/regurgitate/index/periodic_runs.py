"""Periodic runs: many maximal spans of one repeated text reported as one finding.

A text repeating a unit (a word said thousands of times) against a corpus holding a long
run of that unit has a maximal span starting every period: 17,001 spans of one 15,000-token
text for 100 KB of ``"poem "``. Listing each (with its text) makes the output thousands of
times the input. A :class:`PeriodicRun` stands for such spans exactly:

* every span it stands for has the same text, count and documents (so the same window):
  that of ``span``, the first of them;
* they start ``period_chars`` characters (``period_tokens`` tokens) apart, ``spans`` of them,
  so the last ends at ``end``;
* the text from ``start`` to ``end`` repeats ``unit`` (``text[start:start + period_chars]``):
  each span's text is ``unit`` repeated to ``span.end - span.start`` characters, and that
  text occurs exactly ``span.count`` times in the corpus (it is the longest corpus match at
  each of those starts).

Spans are grouped only when all of this is checked on the text itself (equal lengths,
counts and documents, a constant step, overlapping spans, a periodic union); anything else
stays a span of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from regurgitate.types import Span

#: fewer spans of one text than this stay separate spans
MIN_RUN_SPANS = 3
#: characters of a span's start that tell apart the phases of one repeated unit
_PHASE_CHARS = 64


@dataclass(frozen=True, slots=True)
class PeriodicRun:
    """``spans`` maximal spans with the text of ``span``, one every ``period_chars``
    characters from ``span.start`` (see the module docstring)."""

    span: Span
    spans: int
    period_chars: int
    period_tokens: int
    end: int
    token_end: int

    @property
    def start(self) -> int:
        return self.span.start

    @property
    def token_start(self) -> int:
        return self.span.token_start

    def unit(self, text: str) -> str:
        """The repeated unit: the run's first ``period_chars`` characters."""
        return text[self.span.start:self.span.start + self.period_chars]

    def members(self) -> list[tuple[int, int]]:
        """The ``(start, end)`` characters of every span it stands for."""
        n = self.span.end - self.span.start
        return [(self.span.start + k * self.period_chars,
                 self.span.start + k * self.period_chars + n) for k in range(self.spans)]


def _periodic(text: str, start: int, end: int, period: int) -> bool:
    return text[start + period:end] == text[start:end - period]


def periodic_runs(spans: Sequence[Span], text: str, min_spans: int = MIN_RUN_SPANS
                  ) -> tuple[list[Span], list[PeriodicRun]]:
    """The spans that stay separate (in their order) and the periodic runs standing for
    the others (by start). Together they describe every span exactly."""
    chains: dict[tuple[object, ...], list[Span]] = {}
    done: list[list[Span]] = []
    for s in sorted(spans, key=lambda x: (x.start, x.end)):
        w = s.window
        key = (s.tokens, s.end - s.start, s.count, s.documents,
               None if w is None else (w.offset, w.tokens, w.count, w.documents),
               text[s.start:min(s.end, s.start + _PHASE_CHARS)])
        chain = chains.get(key)
        if chain:
            last = chain[-1]
            step, tstep = s.start - last.start, s.token_start - last.token_start
            fits = 0 < step < last.end - last.start and tstep > 0 and (
                len(chain) == 1 or (step == last.start - chain[-2].start
                                    and tstep == last.token_start - chain[-2].token_start))
            if fits:
                chain.append(s)
                continue
            done.append(chain)
        chains[key] = [s]
    done.extend(chains.values())
    single: list[Span] = []
    runs: list[PeriodicRun] = []
    for chain in done:
        first, last = chain[0], chain[-1]
        step = chain[1].start - first.start if len(chain) > 1 else 0
        if len(chain) < min_spans or not _periodic(text, first.start, last.end, step):
            single.extend(chain)
            continue
        runs.append(PeriodicRun(span=first, spans=len(chain), period_chars=step,
                                period_tokens=chain[1].token_start - first.token_start,
                                end=last.end, token_end=last.token_end))
    single.sort(key=lambda x: (x.start, x.end))
    runs.sort(key=lambda r: (r.start, r.end))
    return single, runs
