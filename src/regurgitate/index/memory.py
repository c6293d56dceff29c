"""Memory budget of a build: how large a shard may be so that building it stays within it.

Building a shard holds its token bytes and their suffix array (libdivsufsort: 4 bytes per
byte below 2 GiB, 8 above) at once; an FM-index build also holds the BWT and the wavelet
tree's bits while the suffix array is alive. ``PEAK_PER_BYTE`` is the peak resident memory
per byte of shard measured by ``benchmarks/bench_fm.py`` (1 GB of bytes, docs/scale.md),
rounded up; ``BASE_BYTES`` covers the interpreter, the tokenizer and one batch of
documents. A corpus larger than one shard builds as several, searched together.
"""

from __future__ import annotations

import os

from regurgitate.errors import ConfigError

#: peak resident bytes per byte of shard, by format and suffix-array width (4 or 8 bytes)
PEAK_PER_BYTE = {("sa", 4): 6.0, ("sa", 8): 10.0, ("fm", 4): 7.5, ("fm", 8): 11.5}
#: resident memory of a build besides the shard being sorted
BASE_BYTES = 768 << 20
#: libdivsufsort sorts with 32-bit entries below this many bytes
SMALL_SA_LIMIT = (1 << 31) - 1
#: share of the machine's memory a build takes by default
DEFAULT_SHARE = 0.5
#: a budget that leaves room for less than this per shard is refused
MIN_SHARD_BYTES = 1 << 20


def machine_memory() -> int:
    """Physical memory of this machine (bytes)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a small machine
        return 8 << 30


def default_budget() -> int:
    """The default ``--memory`` budget: half of the machine's memory."""
    return int(machine_memory() * DEFAULT_SHARE)


def shard_bytes(budget: int, index_format: str) -> int:
    """The largest shard (bytes of token data) that builds within ``budget`` bytes."""
    room = budget - BASE_BYTES
    small = int(room / PEAK_PER_BYTE[(index_format, 4)])
    if small < MIN_SHARD_BYTES:
        need = BASE_BYTES + MIN_SHARD_BYTES * PEAK_PER_BYTE[(index_format, 4)]
        raise ConfigError(f"a memory budget of {budget / 2**30:.2f} GiB is too small to build "
                          f"an index (at least {need / 2**30:.2f} GiB)",
                          hint="give --memory more, e.g. 2GB")
    if small <= SMALL_SA_LIMIT:
        return small
    return max(SMALL_SA_LIMIT, int(room / PEAK_PER_BYTE[(index_format, 8)]))
