"""Fixtures every test package may use."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from regurgitate.cli.main import main
from regurgitate.reference import ReferenceManifest, iter_corpus, load_manifest
from regurgitate.types import Document

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


@pytest.fixture(scope="session")
def manifest() -> ReferenceManifest:
    """The bundled text reference set's manifest (tests of reference/ and of tools/)."""
    return load_manifest()


@pytest.fixture(scope="session")
def corpus_docs() -> list[Document]:
    """The bundled reference corpus's documents."""
    return list(iter_corpus())


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One regurgitate cache per session (the reference index is built once); subprocesses
    and in-process CLI calls both read it, and tests never touch ~/.cache or the hub."""
    path = tmp_path_factory.mktemp("regurgitate-cache")
    os.environ["REGURGITATE_CACHE"] = str(path)
    os.environ["HF_HUB_OFFLINE"] = "1"
    return path
