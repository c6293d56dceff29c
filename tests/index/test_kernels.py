"""The compiled search loops load even where numba cannot write its cache."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from regurgitate.index import kernels


def test_without_a_writable_cache_the_loops_compile_in_memory(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = kernels.njit
    asked: list[dict[str, Any]] = []

    def no_cache_location(**options: Any) -> Any:
        asked.append(options)
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x'")
        return real(**options)

    monkeypatch.setattr(kernels, "njit", no_cache_location)

    def total(a: np.ndarray) -> int:
        s = 0
        for x in a:
            s += x
        return s

    compiled = kernels._compiled(total)
    assert compiled(np.arange(5)) == 10
    assert [o.get("cache", False) for o in asked] == [True, False]


def test_pointers_reads_little_endian_pointers_of_any_width() -> None:
    values = np.array([0, 7, 65_535, 2**40 + 3], dtype=np.int64)
    for psize in (1, 2, 5, 8):
        keep = values[values < 2 ** (8 * psize)]
        table = keep.astype("<u8").view(np.uint8).reshape(-1, 8)[:, :psize].ravel().copy()
        ptrs, err = kernels.pointers(table, psize, keep.size, 2**41, 1,
                                     np.arange(keep.size, dtype=np.int64))
        assert err == kernels.OK and ptrs.tolist() == keep.tolist()
        _, err = kernels.pointers(table, psize, keep.size, 2**41, 1,
                                  np.array([keep.size], dtype=np.int64))
        assert err == kernels.BAD_RANK
