"""The error tree of regurgitate.

Every error a user can cause or meet derives from :class:`RegurgitateError`; the CLI turns
each into a one-line message and the exit code below, never a traceback::

    RegurgitateError                 exit 1   base class; also "something we did not foresee"
    ├── ConfigError                  exit 2   bad option, bad target spec, unknown component,
    │   │                                     a folder that is not an index
    │   └── IndexLimitError          exit 2   a documented limit of the index server makes
    │                                         the asked-for verdict impossible
    ├── MissingDependencyError       exit 2   an optional extra is not installed (names it)
    ├── CorpusError                  exit 3   unreadable corpus file or bad record (path:line)
    ├── TokenizerError               exit 3   tokenizer cannot be loaded
    │   └── TokenizerMismatchError   exit 3   query tokenized differently from the index
    ├── IndexCorruptError            exit 4   missing/truncated/corrupt index files
    ├── IndexUnavailableError        exit 8   an index server unreachable, or refusing a query
    │   └── RemoteIndexError         exit 8   the index server failed or refused a query
    ├── TargetError                  exit 5   model or endpoint failed (after retries), hub
    │   │                                     unreachable
    │   └── ContextWindowError       exit 5   a prompt leaves no room for one new token in
    │                                         the model's context window (that generation fails)
    └── StoreError                   exit 6   run database unusable, in use, or spec
                                              mismatch on resume

``QueryError`` (index server side) is not raised to users: the server turns it into an
``{"error": ...}`` answer with its HTTP status. ``Interrupted`` is not an error: it signals a
clean stop (Ctrl-C, budget) and carries exit 130.
Two more exit codes are outcomes, not errors::

    EXIT_INCOMPLETE              exit 7   a scan finished with failed generations (its report
                                          is written; rerun the same command to retry them)
    EXIT_TERMINATED              exit 143 a scan stopped by SIGTERM (like Ctrl-C: finished
                                          work kept, status "stopped", resumable)
"""

from __future__ import annotations

import importlib
from typing import Any

EXIT_INCOMPLETE = 7
EXIT_TERMINATED = 143


class RegurgitateError(Exception):
    """Base class of every error regurgitate raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ConfigError(RegurgitateError):
    """A user-supplied option, spec or name is invalid."""

    exit_code = 2


class MissingDependencyError(RegurgitateError):
    """An optional dependency is missing; the message names the extra to install."""

    exit_code = 2

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the optional package '{package}'",
            hint=f"install it with: pip install 'regurgitate[{extra}]'",
        )
        self.package = package
        self.extra = extra


def optional_import(module: str, *, package: str | None = None, extra: str,
                    purpose: str) -> Any:
    """``module`` imported (on first use), or a :class:`MissingDependencyError` naming the
    ``package`` to install (default: the module's top-level name), the ``extra`` that installs
    it and the ``purpose`` that needs it. The one way regurgitate imports an optional
    dependency."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(package or module.split(".")[0], extra, purpose) from exc


class CorpusError(RegurgitateError):
    """A corpus file cannot be read, or a record in it is bad."""

    exit_code = 3

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message, hint=hint)
        self.path = path
        self.line = line


class TokenizerError(RegurgitateError):
    """A tokenizer cannot be loaded or used."""

    exit_code = 3


class TokenizerMismatchError(TokenizerError):
    """A query was tokenized with a different tokenizer than the index was built with."""


class IndexCorruptError(RegurgitateError):
    """An index directory is missing files, truncated, or fails its checksums."""

    exit_code = 4


class IndexUnavailableError(RegurgitateError):
    """An index server cannot be reached or refused a query: the index may be fine, so this is
    not an :class:`IndexCorruptError` (retry later, or check the URL)."""

    exit_code = 8


class RemoteIndexError(IndexUnavailableError):
    """The index server cannot be reached, or refused a query (exit 8: the server, not the
    index, is the problem)."""


class IndexLimitError(ConfigError):
    """A documented limit of the index server makes the asked-for verdict impossible."""


class QueryError(Exception):
    """A query the index server refuses; the server answers ``{"error": message}`` with
    ``status``. Not a :class:`RegurgitateError`: it never reaches a user as an exit code."""

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.status = status


class TargetError(RegurgitateError):
    """A model or endpoint could not produce generations (after retries)."""

    exit_code = 5


class ContextWindowError(TargetError):
    """A prompt leaves no room for a single new token in the model's context window; the
    generation fails with this message and the scan goes on."""


class StoreError(RegurgitateError):
    """The run database is unusable, or a resume does not match the stored run."""

    exit_code = 6


class Interrupted(Exception):
    """A clean stop requested by the user (Ctrl-C) or a budget; finished work is kept."""

    exit_code = 130

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
