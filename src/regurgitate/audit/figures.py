"""Per-work figures from an audit run's stored findings.

A window is *extracted* at threshold t when its p (exact, local models) or its rate hits/n
(sampled, APIs) is at least t. The figures of a work, all in its own character offsets:

- ``extracted_share``: the share of the work's characters inside the suffixes of extracted
  windows (their union), at the default threshold (p >= 0.5: more likely than not in one
  sample); ``shares`` gives it at p >= 0.5, p >= 0.01 and for greedy decoding. A window's
  prefix is never counted: the model was given it. The first prefix of a work can therefore
  never be extracted;
- ``longest``: the longest contiguous stretch of extracted suffix text;
- ``max_p``: the largest p (or rate) of any window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from regurgitate.audit.detector import DETECTOR, AuditWindow
from regurgitate.audit.windows import ATTACK
from regurgitate.audit.works import Work
from regurgitate.findings import DiscoverableProbe
from regurgitate.store import RunStore

DEFAULT_THRESHOLD = 0.5
LOW_THRESHOLD = 0.01


@dataclass(frozen=True)
class WindowResult:
    """One window's measure: ``start``/``end`` are its suffix's character offsets in the
    work. ``p`` is the exact probability (local models) or the rate hits/n (sampled);
    ``greedy`` None when greedy decoding was not measured (sampled windows)."""

    work_id: str
    window: int
    prefix_start: int
    start: int
    end: int
    p: float
    log_p: float | None = None
    greedy: bool | None = None
    greedy_tokens: int | None = None
    hits: int | None = None
    n: int | None = None
    ci: tuple[float, float] | None = None
    #: an output that reproduced the suffix (a hit, or the greedy continuation when stored)
    generated: str | None = None

    def extracted(self, threshold: float) -> bool:
        return self.p >= threshold

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end, "p": self.p,
                               "window": self.window, "prefix_start": self.prefix_start}
        if self.log_p is not None or self.hits is None:
            out["log10_p"] = self.log_p / math.log(10) if self.log_p is not None else None
        if self.greedy is not None:
            out["greedy"] = self.greedy
            out["greedy_tokens"] = self.greedy_tokens
        if self.hits is not None:
            out.update(hits=self.hits, n=self.n, ci95=list(self.ci) if self.ci else None)
        return out


@dataclass(frozen=True)
class Stretch:
    start: int
    end: int

    @property
    def chars(self) -> int:
        return self.end - self.start


@dataclass
class WorkFigures:
    work: Work
    windows: list[WindowResult]
    threshold: float = DEFAULT_THRESHOLD
    shares: dict[str, float] = field(default_factory=dict)
    longest: Stretch | None = None
    max_p: float = 0.0
    #: filled by :mod:`regurgitate.audit.evidence` when an index is given
    evidence: list[dict[str, Any]] = field(default_factory=list)
    #: extra per-work sections (near-verbatim recall, character names)
    extra: dict[str, Any] = field(default_factory=dict)
    #: windows the protocol slides along the work (None: windows were not planned, as with
    #: --no-windows); 0 for a work shorter than one window
    windows_possible: int | None = None
    #: the work's length in the tokens windows are cut in (None when not planned)
    tokens: int | None = None

    @property
    def measured(self) -> bool:
        """Some window of the work was measured."""
        return bool(self.windows)

    @property
    def too_short(self) -> bool:
        return self.windows_possible == 0

    @property
    def partial(self) -> bool:
        """Fewer windows measured than the protocol slides along the work: its shares
        count only the measured ones."""
        return self.windows_possible is not None and 0 < len(self.windows) < \
            self.windows_possible

    def coverage(self) -> str:
        """'50 of 491 windows', 'too short for one window', 'not measured'."""
        if self.too_short:
            return f"too short for one window ({self.tokens} tokens): not scored"
        if not self.windows:
            return "not measured"
        if self.windows_possible is None:
            return f"{len(self.windows):,} windows"
        return f"{len(self.windows):,} of {self.windows_possible:,} windows"

    @property
    def extracted_share(self) -> float:
        return self.shares.get(share_key(self.threshold), 0.0)

    def extracted(self) -> list[WindowResult]:
        return [w for w in self.windows if w.extracted(self.threshold)]


def share_key(threshold: float) -> str:
    return f"p>={threshold:g}"


def wilson(hits: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson's 95% interval for a rate hits/n."""
    if n <= 0:
        return (0.0, 1.0)
    phat = hits / n
    den = 1 + z * z / n
    mid = (phat + z * z / (2 * n)) / den
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


def union(intervals: Iterable[tuple[int, int]]) -> list[Stretch]:
    """Merged [start, end) intervals, in order (touching ones merged)."""
    out: list[Stretch] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1].end:
            if b > out[-1].end:
                out[-1] = Stretch(out[-1].start, b)
        else:
            out.append(Stretch(a, b))
    return out


def covered(windows: Sequence[WindowResult], keep: Any) -> list[Stretch]:
    return union((w.start, w.end) for w in windows if keep(w))


def work_figures(work: Work, windows: Sequence[WindowResult],
                 threshold: float = DEFAULT_THRESHOLD,
                 possible: tuple[int, int] | None = None) -> WorkFigures:
    wins = sorted(windows, key=lambda w: w.window)
    chars = max(work.chars, 1)
    shares: dict[str, float] = {}
    for t in sorted({threshold, DEFAULT_THRESHOLD, LOW_THRESHOLD}, reverse=True):
        shares[share_key(t)] = sum(s.chars for s in covered(wins, lambda w, t=t: w.p >= t)) / chars
    if any(w.greedy is not None for w in wins):
        shares["greedy"] = sum(s.chars for s in covered(wins, lambda w: bool(w.greedy))) / chars
    stretches = covered(wins, lambda w: w.p >= threshold)
    longest = max(stretches, key=lambda s: s.chars) if stretches else None
    return WorkFigures(work=work, windows=wins, threshold=threshold, shares=shares,
                       longest=longest, max_p=max((w.p for w in wins), default=0.0),
                       windows_possible=possible[0] if possible else None,
                       tokens=possible[1] if possible else None)


def _exact_windows(store: RunStore) -> dict[str, list[WindowResult]]:
    items = {it.generation_id: it for it in store.generations(attack=ATTACK)
             if "sample" not in it.prompt.meta}
    out: dict[str, list[WindowResult]] = {}
    for f in store.findings(detector=DETECTOR):
        w = f.payload_as(AuditWindow)
        it = items.get(f.generation_id)
        if w is None or it is None:
            continue
        generated = it.generation.text if it.prompt.settings.max_new_tokens > 1 else None
        out.setdefault(w.work_id, []).append(WindowResult(
            work_id=w.work_id, window=w.window,
            prefix_start=int(it.prompt.meta.get("prefix_start", 0)), start=w.suffix_start,
            end=w.suffix_end, p=w.p, log_p=w.log_p, greedy=w.greedy,
            greedy_tokens=w.greedy_tokens, generated=generated))
    return out


def _sampled_windows(store: RunStore) -> dict[str, list[WindowResult]]:
    exact: dict[int, bool] = {}
    for f in store.findings(detector="discoverable"):
        probe = f.payload_as(DiscoverableProbe)
        if probe is not None:
            exact[f.generation_id] = probe.exact
    groups: dict[tuple[str, int], list[tuple[bool, str, dict[str, Any]]]] = {}
    for it in store.generations(attack=ATTACK):
        meta = it.prompt.meta
        if "sample" not in meta or it.generation_id not in exact:
            continue
        key = (str(meta["work_id"]), int(meta["window"]))
        groups.setdefault(key, []).append((exact[it.generation_id], it.generation.text, meta))
    out: dict[str, list[WindowResult]] = {}
    for (wid, window), rows in groups.items():
        hits = sum(hit for hit, _, _ in rows)
        meta = rows[0][2]
        out.setdefault(wid, []).append(WindowResult(
            work_id=wid, window=window, prefix_start=int(meta["prefix_start"]),
            start=int(meta["suffix_start"]), end=int(meta["suffix_end"]), p=hits / len(rows),
            hits=hits, n=len(rows), ci=wilson(hits, len(rows)),
            generated=next((text for hit, text, _ in rows if hit), rows[0][1])))
    return out


def stored_windows(store: RunStore) -> dict[str, list[WindowResult]]:
    """Every measured window of an audit run, by work id (exact and sampled alike)."""
    found = _exact_windows(store)
    for wid, ws in _sampled_windows(store).items():
        found.setdefault(wid, []).extend(ws)
    return found


def audit_figures(store: RunStore, works: Sequence[Work],
                  threshold: float = DEFAULT_THRESHOLD,
                  possible: dict[str, tuple[int, int]] | None = None) -> list[WorkFigures]:
    """Figures of every work, ranked by extracted share (then largest p, then id);
    ``possible``: per work, (windows the protocol slides along it, its tokens)."""
    by_work = stored_windows(store)
    plan = possible or {}
    return rank([work_figures(w, by_work.get(w.id, []), threshold, plan.get(w.id))
                 for w in works])


def rank(figs: Sequence[WorkFigures]) -> list[WorkFigures]:
    """By extracted share, then near-verbatim recall (when measured), largest p, id."""
    def recall(f: WorkFigures) -> float:
        r = f.extra.get("recall")
        return float(r.get("recall", 0.0)) if isinstance(r, dict) else 0.0

    return sorted(figs, key=lambda f: (-f.extracted_share, -recall(f), -f.max_p, f.work.id))
