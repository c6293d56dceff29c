"""Compressed bit vectors with rank (numba): the wavelet tree's bits of an FM-index.

The bits are cut into 64-bit words. A word whose bits are all 0 or all 1 is not stored; the
others ("mixed" words) are stored in order in ``words``. Runs of equal symbols in a BWT
become runs of equal bits in every node of its wavelet tree, so most words of a text's
BWT are uniform (59 % of them on the benchmark corpus): that is where the index's
higher-order compression comes from, at the cost of one table read per rank.

Directory, for a vector of ``nbits`` bits (``nwords = nbits // 64 + 2`` words, the last ones
zero): four u64 per superblock of 2048 bits (32 words), one half cache line, so that a rank
reads one line of directory and one or two of words::

    dirs[4s]      ones before superblock s
    dirs[4s + 1]  stored words before it
    dirs[4s + 2]  blocks 0 and 1 of its four blocks of 512 bits (8 words), 32 bits each
    dirs[4s + 3]  blocks 2 and 3

A block's 32 bits: 0-10 ones before it inside its superblock, 11-15 stored words before it
inside its superblock, 16-23 which of its 8 words are stored (mixed), 24-31 which are all
ones (the rest are all zeros). One more superblock at the end holds the totals.

A rank reads at most 8 stored words after the directory, as the uncompressed vector read
at most 8 words. A damaged directory never makes a rank read outside ``words``: the rank is
then negative, which every caller reports as a damaged index.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import types
from numba.extending import intrinsic

from regurgitate.index import kernels
from regurgitate.index.kernels import compiled, compiled_inline, drop_stale_caches, prefetch

drop_stale_caches(__file__, kernels.__file__)

#: the layout's name in an FM shard's manifest record (``bit_vectors``)
LAYOUT = "word-class-1"
#: what a rank returns when the directory points outside the stored words
DAMAGED = -(1 << 62)


@intrinsic
def _ctpop(typingctx: Any, x: Any) -> Any:
    """The CPU's population count of a u64 (LLVM's ``ctpop``)."""
    sig = types.uint64(types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return sig, codegen


@compiled_inline
def popcount(x: np.uint64) -> int:
    return int(_ctpop(x))  # type: ignore[call-arg]


def sizes(nbits: int) -> tuple[int, int]:
    """(words of the plain vector, u64 entries of its directory)."""
    nwords = nbits // 64 + 2
    return nwords, 4 * ((nwords + 31) // 32 + 1)


#: a word of 64 ones
ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


@compiled_inline
def _word(words: np.ndarray, dirs: np.ndarray, pos: int) -> tuple[int, np.uint64]:
    """(ones before the word holding bit ``pos``, that word as the plain vector has it);
    the ones are :data:`DAMAGED` for a damaged directory."""
    b = pos >> 9
    at = (b >> 2) << 2
    if at + 3 >= dirs.size:
        return DAMAGED, np.uint64(0)
    d = np.int64((dirs[at + 2 + ((b >> 1) & 1)] >> np.uint64(32 * (b & 1))) & np.uint64(0xFFFFFFFF))
    p = np.int64(dirs[at + 1]) + ((d >> 11) & 0x1F)
    mixed = (d >> 16) & 0xFF
    full = (d >> 24) & 0xFF
    wi = (pos >> 6) & 7
    below = (1 << wi) - 1
    r = np.int64(dirs[at]) + (d & 0x7FF) + popcount(np.uint64(full & below)) * 64
    m = popcount(np.uint64(mixed & below))
    stored = (mixed >> wi) & 1
    if p < 0 or p + m + stored > words.size:
        return DAMAGED, np.uint64(0)
    for k in range(m):
        r += popcount(words[p + k])
    if stored:
        return int(r), words[p + m]
    return int(r), (ALL_ONES if (full >> wi) & 1 else np.uint64(0))


@compiled_inline
def rank1(words: np.ndarray, dirs: np.ndarray, pos: int) -> int:
    """Ones in bits ``[0, pos)`` (:data:`DAMAGED` for a damaged directory)."""
    r, w = _word(words, dirs, pos)
    if r < 0:
        return DAMAGED
    return r + popcount(w & ((np.uint64(1) << np.uint64(pos & 63)) - np.uint64(1)))


@compiled_inline
def rank_bit(words: np.ndarray, dirs: np.ndarray, pos: int) -> tuple[int, int]:
    """(ones in bits ``[0, pos)``, bit ``pos``), read in one pass over the block."""
    r, w = _word(words, dirs, pos)
    if r < 0:
        return DAMAGED, 0
    sh = np.uint64(pos & 63)
    return (r + popcount(w & ((np.uint64(1) << sh) - np.uint64(1))),
            int((w >> sh) & np.uint64(1)))


@compiled_inline
def prefetch_dir(dirs: np.ndarray, pos: int) -> None:
    """Prefetch the directory entry a rank of bit ``pos`` reads first."""
    at = (pos >> 11) << 2
    if 0 <= at < dirs.size:
        prefetch(dirs, at)  # type: ignore[call-arg]


@compiled_inline
def prefetch_words(words: np.ndarray, dirs: np.ndarray, pos: int) -> None:
    """Prefetch the stored words a rank of bit ``pos`` reads (its directory entry is read
    here: prefetched before, it is in cache)."""
    b = pos >> 9
    at = (b >> 2) << 2
    if pos < 0 or at + 3 >= dirs.size or words.size == 0:
        return
    d = np.int64((dirs[at + 2 + ((b >> 1) & 1)] >> np.uint64(32 * (b & 1)))
                 & np.uint64(0xFFFFFFFF))
    p = np.int64(dirs[at + 1]) + ((d >> 11) & 0x1F)
    if 0 <= p < words.size:
        prefetch(words, p)  # type: ignore[call-arg]
        prefetch(words, min(p + 7, words.size - 1))  # type: ignore[call-arg]


@compiled
def compress(plain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Building: (stored words, directory) of the plain vector ``plain`` (u64 words,
    ``sizes(nbits)[0]`` of them)."""
    nwords = plain.size
    nsup = (nwords + 31) // 32 + 1
    ones_all = ALL_ONES
    kept = 0
    for i in range(nwords):
        if plain[i] != 0 and plain[i] != ones_all:
            kept += 1
    words = np.empty(kept, dtype=np.uint64)
    dirs = np.zeros(4 * nsup, dtype=np.uint64)
    ones = 0
    stored = 0
    for s in range(nsup):
        dirs[4 * s] = ones
        dirs[4 * s + 1] = stored
        sup_ones = ones
        sup_stored = stored
        for j in range(4):
            mixed = 0
            full = 0
            d = (ones - sup_ones) | ((stored - sup_stored) << 11)
            for k in range(8):
                i = 32 * s + 8 * j + k
                if i >= nwords:
                    break
                w = plain[i]
                if w == ones_all:
                    full |= 1 << k
                    ones += 64
                elif w != 0:
                    mixed |= 1 << k
                    words[stored] = w
                    stored += 1
                    ones += popcount(w)
            d |= (mixed << 16) | (full << 24)
            dirs[4 * s + 2 + (j >> 1)] |= np.uint64(d) << np.uint64(32 * (j & 1))
    return words, dirs


@compiled
def check_superblock(words: np.ndarray, dirs: np.ndarray, s: int) -> bool:
    """Opening: whether superblock ``s``'s blocks agree with its counts and stored words
    (the ones and stored words of its blocks add up to the next superblock's counts)."""
    ones = np.int64(dirs[4 * s])
    stored = np.int64(dirs[4 * s + 1])
    for j in range(4):
        d = np.int64((dirs[4 * s + 2 + (j >> 1)] >> np.uint64(32 * (j & 1)))
                     & np.uint64(0xFFFFFFFF))
        if (d & 0x7FF) != ones - np.int64(dirs[4 * s]) or \
                ((d >> 11) & 0x1F) != stored - np.int64(dirs[4 * s + 1]):
            return False
        mixed = (d >> 16) & 0xFF
        full = (d >> 24) & 0xFF
        if mixed & full:
            return False
        for k in range(8):
            if (mixed >> k) & 1:
                if stored >= words.size:
                    return False
                w = words[stored]
                if w == 0 or w == ALL_ONES:
                    return False
                ones += popcount(w)
                stored += 1
            elif (full >> k) & 1:
                ones += 64
    return bool(ones == np.int64(dirs[4 * s + 4]) and stored == np.int64(dirs[4 * s + 5]))
