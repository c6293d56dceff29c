"""Batched exact-match searches over all shards of an index: longest matches at many
positions, occurrence tests, match ranges, and the pruning used for maximal spans."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from regurgitate.index import format as fmt
from regurgitate.index import periodic
from regurgitate.index.fm_shard import FMShard
from regurgitate.index.shard import Queries, Shard

IdsLike = Sequence[int] | np.ndarray
#: a shard of either format (suffix array or FM-index): the same search methods
AnyShard = Shard | FMShard


#: stretches of consecutive candidates shorter than this skip the chain-first search
CHAIN_MIN_STRETCH = 128
#: the chain goes on while each maximal match lets it skip at least this many positions
CHAIN_MIN_GAIN = 64
#: where a chain stops (text edited there), this many positions are searched one by one
#: before the chain resumes
CHAIN_RESUME_AFTER = 32
#: batches of more queries than this look for equal windows of repetitive text first
DEDUP_MIN_QUERIES = 64


class Matcher:
    """Searches a list of shards together; positions refer to one concatenated query buffer
    (see :meth:`prepare`)."""

    def __init__(self, shards: list[AnyShard], dtype: np.dtype) -> None:
        self.shards = shards
        self.dtype = np.dtype(dtype)
        self.sep = fmt.separator(self.dtype)
        #: an FM-index walks match ends instead (see :meth:`_ends_lengths`)
        self.by_ends = bool(shards) and all(isinstance(s, FMShard) for s in shards)

    def prepare(self, seqs: Sequence[IdsLike]) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Concatenated query bytes, the end (token index) of each position's run, seq starts.

        A run ends at its sequence's end or at a token that cannot occur in the corpus
        (the separator or an id outside the dtype), so no match crosses those."""
        arrays = [np.asarray(s, dtype=np.int64).ravel() for s in seqs]
        allids = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)
        bad = (allids < 0) | (allids >= self.sep)
        starts = [0]
        for a in arrays:
            starts.append(starts[-1] + a.size)
        seq_end = np.repeat(np.array(starts[1:], dtype=np.int64),
                            [a.size for a in arrays]) if arrays else allids
        barriers = np.append(np.flatnonzero(bad), allids.size)
        next_barrier = barriers[np.searchsorted(barriers, np.arange(allids.size))]
        run_end = np.minimum(seq_end, next_barrier).astype(np.int64)
        safe = np.where(bad, 0, allids).astype(self.dtype)
        return safe.view(np.uint8), run_end, starts

    def lengths(self, buf: np.ndarray, run_end: np.ndarray, pos: np.ndarray,
                 cap: int | None = None) -> np.ndarray:
        """Longest match (tokens) starting at each of ``pos``, at most ``cap`` tokens."""
        w = self.dtype.itemsize
        length = run_end[pos] - pos
        if cap is not None:
            length = np.minimum(length, cap)
        q = Queries(buf, pos * w, length * w)
        best = np.zeros(pos.size, dtype=np.int64)
        active = np.flatnonzero(q.length > 0)
        if not active.size:
            return best
        sub = Queries(buf, q.start[active], q.length[active])
        for shard in self.shards:
            if shard.n:
                best[active] = np.maximum(best[active], shard.longest(sub) // w)
        return best

    def occurs(self, buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Whether each token range [start, end) of the query buffer occurs in the corpus
        (an empty range, also one with ``end < start``, occurs)."""
        w = self.dtype.itemsize
        q = Queries(buf, starts * w, np.maximum(ends - starts, 0) * w)
        found = np.zeros(starts.size, dtype=bool)
        for shard in self.shards:
            todo = np.flatnonzero(~found)
            if todo.size and shard.n:
                sub = Queries(buf, q.start[todo], q.length[todo])
                found[todo[shard.search(sub)[2] >= sub.length]] = True
        return found

    def exact_lengths(self, buf: np.ndarray, run_end: np.ndarray, pos: np.ndarray,
                      cap: int) -> np.ndarray:
        """Exact longest matches at ``pos`` (sorted): :meth:`_exact_plain` where the query
        does not repeat itself, derived from one period inside copy regions."""
        if self.by_ends:
            return self._by_regions(buf, run_end, pos,
                                    lambda p: self._ends_lengths(buf, run_end, p))
        return self._by_regions(buf, run_end, pos,
                                lambda p: self._exact_plain(buf, run_end, p, cap))

    def _ends_lengths(self, buf: np.ndarray, run_end: np.ndarray, pos: np.ndarray
                      ) -> np.ndarray:
        """Exact longest matches at ``pos`` (sorted) over FM shards, each shard walking the
        ends of its matches (:meth:`FMShard.match_lengths`): a backward search extends a
        match to the left only, so the searches from each position that the suffix array's
        chains make would cost a search per length tried."""
        best = np.zeros(pos.size, dtype=np.int64)
        todo = np.arange(pos.size)
        for shard in self.shards:
            if shard.n and isinstance(shard, FMShard) and todo.size:
                best[todo] = np.maximum(best[todo],
                                        shard.match_lengths(buf, pos[todo], run_end))
                # a match reaching its run's end cannot be longer in another shard
                todo = todo[pos[todo] + best[todo] < run_end[pos[todo]]]
        return best

    def _exact_plain(self, buf: np.ndarray, run_end: np.ndarray, pos: np.ndarray,
                     cap: int) -> np.ndarray:
        """Exact longest matches at ``pos`` (sorted), cheaper than searching every position
        to its full length.

        First every position is searched up to ``cap`` tokens. Within a stretch of
        consecutive positions that all reached the cap, only the start and the places where
        a new maximal match begins are searched in full: after a match [a, e), position j
        has ``L[j] = e - j`` until the first j where ``ids[j:e+1]`` occurs (occurrence is
        monotone in j, so that j is found by a k-ary search over a few batched lookups).
        """
        lengths = self.lengths(buf, run_end, pos, cap)
        capped = lengths >= cap
        if not capped.any():
            return lengths
        idx = np.flatnonzero(capped)
        # a stretch never crosses a sequence end or an unmatchable token (run_end changes)
        breaks = np.flatnonzero((np.diff(idx) != 1) | (np.diff(pos[idx]) != 1)
                                | (np.diff(run_end[pos[idx]]) != 0)) + 1
        stretches = [(int(run[0]), int(run[-1])) for run in np.split(idx, breaks)]
        self._follow(buf, run_end, pos, lengths, stretches, min_gain=None)
        return lengths

    def _follow(self, buf: np.ndarray, run_end: np.ndarray, pos: np.ndarray,
                lengths: np.ndarray, stretches: list[tuple[int, int]],
                min_gain: int | None) -> list[int | None]:
        """Fill ``lengths[first:last + 1]`` of every stretch of consecutive positions by
        following maximal matches: search a position in full, then skip to the first later
        position whose match ends further right. All stretches advance together, so every
        round costs one batched search for the lengths and a few for the skips.

        With ``min_gain``, a stretch gives up as soon as a match would let it skip fewer
        positions than that; its entry in the result is the position it stopped at (lengths
        after it are not set). Finished stretches give None.
        """
        n = len(stretches)
        cur = np.array([a for a, _ in stretches], dtype=np.int64)
        last = np.array([b for _, b in stretches], dtype=np.int64)
        result: list[int | None] = [None] * n
        active = np.arange(n)
        while active.size:
            c = cur[active]
            lengths[c] = self.lengths(buf, run_end, pos[c])
            end = pos[c] + lengths[c]
            at_end = end >= run_end[pos[c]]
            lo = np.where(at_end, last[active] + 1, c + 1)
            hi = last[active] + 1
            if min_gain is not None:
                short = (lengths[c] < min_gain) & (c + lengths[c] <= last[active])
                lo[short] = hi[short]  # no search: decided below
            lo = self._next_increase(buf, pos, lo, hi, end)
            still: list[int] = []
            for j, r in enumerate(active):
                k, nxt, e = int(c[j]), int(lo[j]), int(end[j])
                if min_gain is not None and nxt <= last[r] and nxt - k < min_gain:
                    result[r] = k
                    continue
                if min_gain is not None and lengths[k] < min_gain and k + lengths[k] <= last[r]:
                    result[r] = k
                    continue
                lengths[k + 1:nxt] = e - pos[k + 1:nxt]
                if nxt <= last[r]:
                    cur[r] = nxt
                    still.append(int(r))
            active = np.array(still, dtype=np.int64)
        return result

    def chain_lengths(self, buf: np.ndarray, run_end: np.ndarray, pos: np.ndarray,
                      cap: int) -> np.ndarray:
        """Exact longest matches at ``pos`` (sorted): :meth:`_chain_plain` where the query
        does not repeat itself, derived from one period inside copy regions."""
        if self.by_ends:
            return self._by_regions(buf, run_end, pos,
                                    lambda p: self._ends_lengths(buf, run_end, p))
        return self._by_regions(buf, run_end, pos,
                                lambda p: self._chain_plain(buf, run_end, p, cap))

    def _by_regions(self, buf: np.ndarray, run_end: np.ndarray, pos: np.ndarray,
                    compute: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Longest matches at ``pos`` (sorted), searching only what copy regions leave open.

        Inside a region ``(s, t, d)`` (see :mod:`regurgitate.index.periodic`),
        ``L[i] = L[i - d]`` while ``i + L[i - d] < t``; so a region needs its first period
        (``[s - d, s)``) searched, and then only its tail, the positions whose match may
        reach past ``t``. Regions whose first period is known are resolved together, one
        batched search per wave; everything outside regions is searched in the first."""
        if pos.size < periodic.MIN_REGION:
            return compute(pos)
        tokens = buf.view(self.dtype)
        regions = periodic.copy_regions(tokens, run_end)
        if not regions:
            return compute(pos)
        total = run_end.size
        known = np.full(total, -1, dtype=np.int64)
        inner = np.zeros(total + 1, dtype=np.int64)
        for r in regions:
            inner[r.start] += 1
            inner[r.end] -= 1
        in_region = np.cumsum(inner[:-1]) > 0
        wanted = np.zeros(total, dtype=bool)
        wanted[pos] = True
        for r in regions:
            wanted[r.start - r.d:r.start] = True  # every first period is needed
        first = np.flatnonzero(wanted & ~in_region)
        if first.size:
            known[first] = compute(first)
        todo = list(regions)
        while todo:
            ready = [r for r in todo if (known[r.start - r.d:r.start] >= 0).all()]
            if not ready:  # cannot happen: the earliest region's first period is outside
                ready = todo[:1]
                src = np.arange(ready[0].start - ready[0].d, ready[0].start)
                miss = src[known[src] < 0]
                known[miss] = compute(miss)
            tails: list[np.ndarray] = []
            for r in ready:
                idx = np.arange(r.start, r.end, dtype=np.int64)
                src = known[r.start - r.d + (idx - r.start) % r.d]
                derived = idx + src < r.end
                known[idx[derived]] = src[derived]
                tail = idx[~derived]
                tails.append(tail[wanted[tail]])
            flat = np.concatenate(tails) if tails else np.zeros(0, dtype=np.int64)
            if flat.size:
                known[flat] = compute(flat)
            todo = [r for r in todo if r not in ready]
        return np.asarray(known[pos], dtype=np.int64)

    def _chain_plain(self, buf: np.ndarray, run_end: np.ndarray, pos: np.ndarray,
                     cap: int) -> np.ndarray:
        """Exact longest matches at ``pos`` (sorted), following maximal matches first.

        Within each stretch of consecutive positions, the first position is searched in
        full; after a match [a, e) every later position j has ``L[j] = e - j`` until the
        first j where ``ids[j:e+1]`` occurs (found by :meth:`_next_increase`), which is
        searched in full next. Text that is memorized in long stretches therefore costs a
        few searches instead of one per position. Each unbatched search costs about as
        much as a batched search of a few dozen positions, so short stretches, and the rest
        of a stretch as soon as a match skips fewer than ``CHAIN_MIN_GAIN`` positions
        (partly memorized or edited text), go to :meth:`exact_lengths`, which batches every
        position in one search.
        """
        lengths = np.zeros(pos.size, dtype=np.int64)
        if not pos.size:
            return lengths
        # stretches never cross a sequence end or an unmatchable token (run_end changes)
        ends = run_end[pos]
        breaks = np.flatnonzero((np.diff(pos) != 1) | (np.diff(ends) != 0)) + 1
        stretches = [(int(run[0]), int(run[-1]))
                     for run in np.split(np.arange(pos.size), breaks)]
        rest: list[np.ndarray] = []  # positions left to one batched search at the end
        chains = []
        for first, last in stretches:
            if last - first + 1 >= CHAIN_MIN_STRETCH:
                chains.append((first, last))
            else:
                rest.append(np.arange(first, last + 1))
        while chains:
            resumed = []
            for (_first, last), stop in zip(chains, self._follow(
                    buf, run_end, pos, lengths, chains, min_gain=CHAIN_MIN_GAIN), strict=True):
                if stop is None or stop >= last:
                    continue
                # an edit (matches that skip little): the next positions one by one, then
                # the chain again, so one edit does not leave the rest of the text to them
                again = stop + 1 + CHAIN_RESUME_AFTER
                rest.append(np.arange(stop + 1, min(again, last + 1)))
                if last - again + 1 >= CHAIN_MIN_STRETCH:
                    resumed.append((again, last))
                elif again <= last:
                    rest.append(np.arange(again, last + 1))
            chains = resumed
        if rest:
            idx = np.concatenate(rest)
            lengths[idx] = self._exact_plain(buf, run_end, pos[idx], cap)
        return lengths

    def _next_increase(self, buf: np.ndarray, pos: np.ndarray, lo: np.ndarray,
                       hi: np.ndarray, end: np.ndarray) -> np.ndarray:
        """For each row, the first k in [lo, hi) where ``ids[pos[k]:end+1]`` occurs (``hi``
        if none). The property is monotone in k, so a k-ary search finds it; all rows
        probe together, one batched lookup a round."""
        lo, hi = lo.copy(), hi.copy()
        while True:
            open_rows = np.flatnonzero(lo < hi)
            if not open_rows.size:
                return lo
            probes = [np.unique(np.linspace(lo[r], hi[r] - 1, num=min(16, hi[r] - lo[r]))
                                .astype(np.int64)) for r in open_rows]
            flat = np.concatenate(probes)
            row_end = np.repeat(end[open_rows] + 1, [p.size for p in probes])
            ok = self.occurs(buf, pos[flat], row_end)
            at = 0
            for r, probe in zip(open_rows, probes, strict=True):
                hits = ok[at:at + probe.size]
                at += probe.size
                if hits.any():
                    k = int(np.argmax(hits))
                    hi[r] = probe[k]
                    lo[r] = probe[k - 1] + 1 if k > 0 else lo[r]
                else:
                    lo[r] = probe[-1] + 1

    def ranges(self, q: Queries) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per shard, the [lower, upper) ranks matching each query. Queries that are equal
        windows of one copy region (repetitive text) are searched once."""
        w = self.dtype.itemsize
        if q.start.size > DEDUP_MIN_QUERIES and q.buf.size % w == 0:
            regions = periodic.copy_regions(q.buf.view(self.dtype))
            keys = periodic.window_keys(regions, q.start // w, q.length // w)
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            if first.size < q.start.size:
                sub = Queries(q.buf, q.start[first], q.length[first])
                return [(lo[inverse.ravel()], hi[inverse.ravel()])
                        for lo, hi in self.plain_ranges(sub)]
        return self.plain_ranges(q)

    def plain_ranges(self, q: Queries, *, rare: bool = False
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per shard, the [lower, upper) ranks matching each query (no deduplication);
        ``rare``: by :meth:`Shard.rare_ranges` (queries expected to occur few times)."""
        out = []
        for shard in self.shards:
            if not shard.n:
                out.append((np.zeros(q.start.size, np.int64), np.zeros(q.start.size, np.int64)))
            elif rare:
                out.append(shard.rare_ranges(q))
            else:
                out.append(shard.ranges(q))
        return out

    def bounded_ranges(self, q: Queries, floors: list[np.ndarray], ceiling: np.ndarray
                       ) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
        """:meth:`plain_ranges` (``rare``) of queries known to occur, with two hints a shard
        may use to stop a search early (an FM-index does, see
        :meth:`FMShard.bounded_ranges`); use only the counts of the ranges returned.

        ``floors``: per shard, a count each query is known to reach in it (0: unknown): the
        count is exact as soon as it is certain. ``ceiling``: per query, a corpus count
        (-1: none) the caller has no use for a query reaching at most; each shard gets its
        floor plus an equal part of what the ceiling leaves above the floors. Returns the
        ranges and ``bounded``: the queries whose count is only bounded, by their ranges'
        total, which is then at most their ceiling. A query stopped in some shards whose
        total still exceeds its ceiling is searched again there without one, so every
        other count is exact."""
        m = q.start.size
        slack = ceiling - np.sum(floors, axis=0) if floors else ceiling
        usable = (ceiling >= 0) & (slack >= 0)
        share = np.where(usable, slack // max(len(self.shards), 1), 0)
        out: list[tuple[np.ndarray, np.ndarray]] = []
        stopped = []
        for k, shard in enumerate(self.shards):
            if not shard.n:
                out.append((np.zeros(m, np.int64), np.zeros(m, np.int64)))
                stopped.append(np.zeros(m, dtype=bool))
                continue
            cap = np.where(usable, floors[k] + share, -1)
            lo, hi, b = shard.bounded_ranges(q, floor=floors[k], ceiling=cap)
            out.append((lo, hi))
            stopped.append(b)
        total = np.zeros(m, dtype=np.int64)
        for lo, hi in out:
            total += hi - lo
        some = np.logical_or.reduce(stopped) if stopped else np.zeros(m, dtype=bool)
        redo = some & (total > ceiling)
        for k, shard in enumerate(self.shards):
            rows = np.flatnonzero(redo & stopped[k])
            if rows.size:
                sub = Queries(q.buf, q.start[rows], q.length[rows])
                lo, hi, _ = shard.bounded_ranges(sub, floor=floors[k][rows])
                out[k][0][rows] = lo
                out[k][1][rows] = hi
        return out, some & ~redo

    def candidates(self, buf: np.ndarray, run_end: np.ndarray, m: int) -> np.ndarray:
        """Positions that may start a match of >= m tokens.

        With h = m // 2, a match [s, s + m) contains the probe [k h, k h + h) for
        k = ceil(s / h) (because 2 h <= m), so only starts in ((k - 1) h, k h] of probes k
        that occur need their exact longest match computed."""
        total = run_end.size
        h = max(1, m // 2)
        if m < 4 or total == 0:
            return np.arange(total, dtype=np.int64)
        probes = np.arange(0, total, h, dtype=np.int64)
        probes = probes[run_end[probes] - probes >= h]
        if not probes.size:
            return np.zeros(0, dtype=np.int64)
        w = self.dtype.itemsize
        q = Queries(buf, probes * w, np.full(probes.size, h * w, dtype=np.int64))
        hit = np.zeros(probes.size, dtype=bool)
        for shard in self.shards:
            todo = np.flatnonzero(~hit)
            if not todo.size or not shard.n:
                continue
            sub = Queries(buf, q.start[todo], q.length[todo])
            _, _, lcp_at = shard.search(sub)
            hit[todo[lcp_at >= h * w]] = True
        hits = probes[hit]
        if not hits.size:
            return np.zeros(0, dtype=np.int64)
        right = self._last_starts(buf, run_end, hits, h, m)
        mask = np.zeros(total + 1, dtype=bool)
        for k, r in zip(hits.tolist(), right.tolist(), strict=True):
            if r >= 0:  # (a negative bound: none of its starts; no slice from the end)
                mask[max(k - h + 1, 0):r + 1] = True
        return np.flatnonzero(mask[:total]).astype(np.int64)

    def _last_starts(self, buf: np.ndarray, run_end: np.ndarray, hits: np.ndarray, h: int,
                     m: int) -> np.ndarray:
        """For each probe ``k h`` that occurs, the last position of its starts
        ``((k - 1) h, k h]`` that may begin a match of >= m tokens (at most ``(k - 1) h``:
        none may).

        A match at ``s`` holds one at every later position it covers, so the longest match
        ``L`` obeys ``L[s] <= (r - s) + L[r]`` for ``r >= s``: where ``L[r] < m``, no start
        in ``(r - (m - L[r]), r]`` reaches m. Probes that occur alone (text that matches in
        pieces: a common phrase) thus need a search or two instead of one per start. Runs of
        consecutive probes as long as a chain (``CHAIN_MIN_STRETCH``) keep all their starts
        (text copied at length: every bound would be ``m`` or more, each a search spent)."""
        right = hits.copy()
        run = np.cumsum(np.concatenate(([0], np.diff(hits) != h)))
        alone = np.bincount(run)[run] * h < CHAIN_MIN_STRETCH
        todo = np.flatnonzero(alone)
        while todo.size:
            found = self.lengths(buf, run_end, right[todo], cap=m)
            todo = todo[found < m]
            right[todo] -= m - found[found < m]
            todo = todo[(right[todo] > hits[todo] - h) & (right[todo] >= 0)]
        return right
