"""Scan tests share one cache per session (the reference index is built once)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture()
def cli_env(cache_dir: Path) -> Path:
    return cache_dir
