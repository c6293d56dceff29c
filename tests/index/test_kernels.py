"""The compiled search loops load even where numba cannot write its cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
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


def test_a_changed_helper_module_recompiles_its_callers(tmp_path: Path) -> None:
    """Numba checks a cached function against its own source file only: a caller cached
    with a helper from another module would keep the old helper after that module changes.
    ``drop_stale_caches`` drops the caller's cache then (a real numba cache, three fresh
    processes: compile and cache, reuse, change the helper)."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    helper = pkg / "helper.py"
    helper.write_text(HELPER.format(value=1))
    (pkg / "caller.py").write_text(CALLER)

    def run() -> str:
        proc = subprocess.run([sys.executable, "-c", "from pkg.caller import twice; "
                               "print(twice(3))"], cwd=tmp_path, capture_output=True,
                              text=True, check=True)
        return proc.stdout.strip()

    assert run() == "2"
    assert list((pkg / "__pycache__").glob("caller.*.nbi"))  # cached
    assert run() == "2"
    helper.write_text(HELPER.format(value=5))
    later = max(f.stat().st_mtime for f in (pkg / "__pycache__").iterdir()) + 10
    os.utime(helper, (later, later))  # changed after the caches were written
    assert run() == "10"  # the caller was compiled again, with the new helper


HELPER = """
from regurgitate.index.kernels import compiled

@compiled
def one(x):
    return {value}
"""

CALLER = """
from pkg import helper
from regurgitate.index.kernels import compiled, drop_stale_caches

drop_stale_caches(__file__, helper.__file__)

@compiled
def twice(x):
    return 2 * helper.one(x)
"""
