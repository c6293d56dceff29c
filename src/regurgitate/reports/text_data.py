"""Plain records a report is built from, and the one function that reads them from a run store.

Reports never talk to the store directly: :func:`load_run` copies what they need into a
:class:`RunData`, so every renderer can be tested on hand-built records.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Protocol

from regurgitate.errors import StoreError
from regurgitate.findings import Finding
from regurgitate.store.stats import RunStats
from regurgitate.types import Item, RunSpec

#: meta keys (written by the pipeline) copied from the store into ``RunData.extra``
META_KEYS: tuple[str, ...] = ("status", "started_at", "finished_at", "target_runtime",
                               "execution", "not_computed",
                               "endpoint", "attack_notes")


class RunStoreLike(Protocol):
    """The part of the run-store API that reports read."""

    def spec(self) -> RunSpec | None: ...

    def generations(self, *, ok_only: bool = True) -> Any: ...

    def findings(self) -> Any: ...

    def stats(self) -> RunStats: ...

    def get_meta(self, key: str, default: Any = None) -> Any: ...


@dataclass(frozen=True)
class RunData:
    """Everything a report shows about one run.

    ``index_info`` describes the reference index (name, tokens, documents, tokenizer, ...);
    ``extra`` carries the status and dates shown (``created_at``, ``started_at``,
    ``finished_at``, ``updated_at``); ``stats`` the store's counts.
    """

    spec: RunSpec
    items: list[Item]
    findings: list[Finding]
    index_info: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    stats: RunStats | None = None


def _meta(store: RunStoreLike, key: str) -> Any:
    try:
        value = store.get_meta(key)
    except KeyError:
        return None
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def load_run(store: RunStoreLike) -> RunData:
    """Read a whole run from ``store`` (spec, all generations, all findings, meta).

    ``index_info`` comes from the store's ``index_info`` meta value when a run recorded one
    (a dict, or a plain name); dates come from the store's stats and meta.
    """
    try:
        spec = store.spec()
        if spec is None:
            raise StoreError("the run database holds no run yet: nothing to report",
                             hint="start one with `regurgitate scan`")
        items = sorted(store.generations(ok_only=False), key=lambda it: it.generation_id)
        findings = list(store.findings())
        stats = store.stats()
        index_info = _meta(store, "index_info")
        meta = {key: _meta(store, key) for key in META_KEYS}
    except StoreError:
        raise
    except (OSError, ValueError, sqlite3.Error) as exc:
        raise StoreError(f"cannot read the run store for a report: {exc}") from exc
    if index_info is not None and not isinstance(index_info, dict):
        index_info = {"name": str(index_info)}
    extra: dict[str, Any] = {"created_at": stats.created_at, "updated_at": stats.updated_at}
    extra.update({k: v for k, v in meta.items() if v is not None})
    return RunData(spec=spec, items=items, findings=findings, index_info=index_info, extra=extra,
                   stats=stats)
