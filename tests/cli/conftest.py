"""A session cache for the reference index (``run_cli`` comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

#: the type of the ``run_cli`` fixture (tests/conftest.py)
RunCli = Callable[[list[str]], tuple[int, str, str]]

