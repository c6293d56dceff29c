"""A session cache for the reference index (``run_cli`` comes from tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

#: the type of the ``run_cli`` fixture (tests/conftest.py)
RunCli = Callable[[list[str]], tuple[int, str, str]]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("regurgitate-cache")
    os.environ["REGURGITATE_CACHE"] = str(path)  # never ~/.cache in tests
    os.environ["HF_HUB_OFFLINE"] = "1"
    return path
