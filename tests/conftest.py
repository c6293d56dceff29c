"""Fixtures every test package may use."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from regurgitate.cli.main import main

#: ``run_cli(args) -> (exit code, stdout, stderr)``
RunCli = Callable[[list[str]], tuple[int, str, str]]


@pytest.fixture()
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """The real CLI entry point run in-process, with its exit code and captured output."""
    def run(args: list[str]) -> tuple[int, str, str]:
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run
