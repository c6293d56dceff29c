"""Counts of a run database, as typed records (``RunStore.stats``, reports, ``runs show``)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class AttackStats:
    """Prompts of one attack and how far they got (``pending``: no successful generation)."""

    prompts: int
    ok: int
    failed: int
    pending: int
    tokens: int


@dataclass(frozen=True)
class RunStats:
    """A run's counts. ``generations_failed`` counts a prompt whose latest attempt failed
    once; ``tokens_generated`` are completion tokens of successful generations;
    ``findings`` counts findings per kind; ``created_at``/``updated_at`` are UTC ISO times."""

    prompts: int
    generations_ok: int
    generations_failed: int
    tokens_generated: int
    per_attack: dict[str, AttackStats]
    findings: dict[str, int]
    created_at: str
    updated_at: str


def collect_stats(conn: sqlite3.Connection) -> RunStats:
    """The stats of a run database (works on read-only connections too)."""
    q = conn.execute
    created, updated = q("SELECT created_at, updated_at FROM clock WHERE id = 1").fetchone()
    ok, failed, tokens = q(
        "SELECT coalesce(sum(ok), 0), coalesce(sum(1 - ok), 0),"
        " coalesce(sum(CASE WHEN ok = 1 THEN n_tokens ELSE 0 END), 0) FROM generations"
    ).fetchone()
    per_attack: dict[str, AttackStats] = {}
    for attack, n_prompts, n_ok, n_failed, n_tok in q(
        "SELECT p.attack, count(*), coalesce(sum(g.ok = 1), 0), coalesce(sum(g.ok = 0), 0),"
        " coalesce(sum(CASE WHEN g.ok = 1 THEN g.n_tokens ELSE 0 END), 0)"
        " FROM prompts p LEFT JOIN generations g ON g.prompt_id = p.id"
        " GROUP BY p.attack ORDER BY p.attack"
    ):
        per_attack[str(attack)] = AttackStats(
            prompts=int(n_prompts), ok=int(n_ok), failed=int(n_failed),
            pending=int(n_prompts - n_ok), tokens=int(n_tok))
    findings = {str(k): int(n) for k, n in
                q("SELECT kind, count(*) FROM findings GROUP BY kind ORDER BY kind")}
    return RunStats(
        prompts=int(q("SELECT count(*) FROM prompts").fetchone()[0]),
        generations_ok=int(ok), generations_failed=int(failed), tokens_generated=int(tokens),
        per_attack=per_attack, findings=findings, created_at=str(created),
        updated_at=str(updated),
    )
