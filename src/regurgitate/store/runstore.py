"""The run store: one SQLite file per run holding its spec, prompts, generations, findings.

Guarantees:

* every ``add_*`` call is one transaction, committed before it returns (WAL journal,
  ``synchronous=FULL``): a process killed between two calls loses nothing committed;
* one generation row per prompt: a failed generation is stored (with its error) and a later
  one for the same prompt overwrites it, keeping its row id and adding up ``attempts`` (the
  requests a target sent, :attr:`Generation.attempts`); once a
  prompt has a successful generation, further generations for it are ignored (their call
  returns the stored id), so a resumed run never duplicates work;
* any string a target returns is stored: code points UTF-8 cannot hold (lone surrogates) are
  replaced by U+FFFD (:func:`regurgitate.untrusted.repair_generation`) and the original is
  kept, escaped (``unicode_escape``), in meta ``text_repaired:PROMPT_ID`` (``{field: raw}``);
* ``add_findings`` replaces a detector's findings for a set of generations and marks them as
  processed by that detector in the same transaction;
* **no secrets**: :meth:`RunStore.init_run` refuses a spec whose settings or target look
  like they carry a credential (:mod:`regurgitate.store.secrets`). Targets must describe
  themselves key-free; read keys from the environment instead.

Row conversion lives in :mod:`regurgitate.store.rows`, counts in :mod:`regurgitate.store.stats`.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from regurgitate.errors import StoreError
from regurgitate.findings import Finding
from regurgitate.store import codec
from regurgitate.store.rows import (
    ITEM_SQL,
    item_from_row,
    now,
    opt_float,
    opt_int,
    prompt_from_row,
    store_image,
)
from regurgitate.store.schema import migrate
from regurgitate.store.secrets import (
    brief,
    check_no_secrets,
    is_secret_key,
    settings_diff,
    spec_key,
)
from regurgitate.store.stats import RunStats, collect_stats
from regurgitate.types import Generation, Item, Modality, Prompt, RunSpec
from regurgitate.untrusted import repair_generation

__all__ = ["IMAGE_INDEX_META", "RunStore", "is_secret_key"]

#: meta key an image scan sets to its training-image index (what makes a run an image run)
IMAGE_INDEX_META = "image_index"

_PAGE = 500


class RunStore:
    """A run database. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    # ------------------------------------------------------------------ opening, closing

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True) -> RunStore:
        """Open (and migrate) a run database; create it unless ``create`` is False."""
        path = Path(path)
        if path.is_dir():
            raise StoreError(f"{path} is a directory, not a run database file")
        if not path.exists():
            if not create:
                raise StoreError(
                    f"no run database at {path}", hint="check the path given with --run"
                )
            if not path.parent.is_dir():
                raise StoreError(f"cannot create {path}: directory {path.parent} does not exist")
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {path}: {exc}") from exc
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 30000")
            migrate(conn, str(path))
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{path}: cannot switch the database to WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{path} is not a run database ({exc})") from exc
        except StoreError:
            conn.close()
            raise
        return cls(conn, path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; commits on success, rolls back on any error."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot start a write: {exc}") from exc
        try:
            yield conn
            conn.execute("UPDATE clock SET updated_at = ? WHERE id = 1", (now(),))
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"{self.path}: write failed: {exc}") from exc
            raise

    # ------------------------------------------------------------------------ the run spec

    def init_run(self, spec: RunSpec) -> bool:
        """Record the spec of a new run (True) or check a resume matches it (False)."""
        check_no_secrets(spec)
        with self._tx() as conn:
            stored = self.spec()  # read under the write lock: two starters cannot race
            if stored is None:
                conn.execute(
                    "INSERT INTO run (id, target, attacks, index_path, settings, tool_version,"
                    " created_at, modality) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                    (spec.target, codec.dumps(list(spec.attacks)), spec.index,
                     codec.dumps(spec.settings, "settings"), spec.tool_version, now(),
                     spec.modality),
                )
                event = "start"
            else:
                self._check_same(stored, spec)
                event = "resume"
            conn.execute(
                "INSERT INTO run_history (event, tool_version, at) VALUES (?, ?, ?)",
                (event, spec.tool_version, now()),
            )
        return stored is None

    def _check_same(self, stored: RunSpec, spec: RunSpec) -> None:
        old, new = spec_key(stored), spec_key(spec)
        diffs: list[str] = []
        for field in ("modality", "target", "attacks", "index"):
            if old[field] != new[field]:
                # paths and targets are named whole: a cut path cannot be found or compared
                limit = 1000 if field in ("index", "target") else 40
                diffs.append(f"{field}: stored {brief(old[field], limit)}, now "
                             f"{brief(new[field], limit)}")
        diffs.extend(settings_diff(old["settings"], new["settings"]))
        if diffs:
            more = f"; and {len(diffs) - 3} more" if len(diffs) > 3 else ""
            raise StoreError(
                f"{self.path} holds a different run ({'; '.join(diffs[:3])}{more})",
                hint=f"resume it with the same options, or pass --run NEW.db to start a fresh "
                f"run instead of {self.path.name}",
            )

    def spec(self) -> RunSpec | None:
        """The spec the run was started with (its original tool_version), or None."""
        row = self._conn.execute(
            "SELECT target, attacks, index_path, settings, tool_version, modality FROM run"
            " WHERE id = 1"
        ).fetchone()
        if row is None:
            return None
        return RunSpec(
            target=row[0], attacks=tuple(codec.loads(row[1])), index=row[2],
            settings=codec.loads(row[3]), tool_version=row[4],
            modality="image" if row[5] == "image" else "text",
        )

    def history(self) -> list[tuple[str, str, str]]:
        """(event, tool_version, timestamp) for the start and every resume of the run."""
        return [tuple(r) for r in self._conn.execute(
            "SELECT event, tool_version, at FROM run_history ORDER BY id"
        )]

    # ---------------------------------------------------------------------------- prompts

    @staticmethod
    def _prompt_row(p: Prompt) -> tuple[str, str, str | None, str | None, str, str]:
        return (p.id, p.attack, p.text,
                None if p.messages is None else codec.dumps(list(p.messages), "prompt messages"),
                codec.dumps(dataclasses.asdict(p.settings), "prompt settings"),
                codec.dumps(p.meta, f"meta of prompt {p.id}"))

    def changed_prompts(self, prompts: Sequence[Prompt]) -> list[str]:
        """Ids of ``prompts`` stored already with another text, messages, settings or meta
        (a resumed scan that would build other prompts than the run holds)."""
        changed = []
        for p in prompts:
            row = self._conn.execute(
                "SELECT id, attack, text, messages, settings, meta FROM prompts WHERE id = ?",
                (p.id,)).fetchone()
            if row is not None and tuple(row) != self._prompt_row(p):
                changed.append(p.id)
        return changed

    def add_prompts(self, prompts: Sequence[Prompt]) -> int:
        """Store prompts not stored yet (by id); returns how many were new."""
        at = now()
        rows = [(*self._prompt_row(p), at) for p in prompts]
        with self._tx() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT INTO prompts (id, attack, text, messages, settings, meta, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                rows,
            )
            return conn.total_changes - before

    def pending_prompts(self, attack: str | None = None) -> list[Prompt]:
        """Prompts without a successful generation, in the order they were added."""
        sql = (
            "SELECT p.id, p.attack, p.text, p.messages, p.settings, p.meta FROM prompts p"
            " WHERE NOT EXISTS (SELECT 1 FROM generations g WHERE g.prompt_id = p.id"
            " AND g.ok = 1)"
        )
        args: tuple[Any, ...] = ()
        if attack is not None:
            sql += " AND p.attack = ?"
            args = (attack,)
        return [prompt_from_row(r) for r in self._conn.execute(sql + " ORDER BY p.rowid", args)]

    def prompt_groups(self) -> tuple[dict[str, list[int]], set[str]]:
        """Successful generation ids by prompt text (the groups a group detector judges), and
        the texts that still have a prompt without a successful generation (incomplete
        groups). Reads no generation bodies."""
        groups: dict[str, list[int]] = {}
        for gid, text, messages in self._conn.execute(
                "SELECT g.id, p.text, p.messages FROM generations g JOIN prompts p"
                " ON p.id = g.prompt_id WHERE g.ok = 1 ORDER BY g.id"):
            key = text if text is not None else _joined(messages)
            groups.setdefault(key, []).append(int(gid))
        incomplete = {p.as_text() for p in self.pending_prompts()}
        return groups, incomplete

    # ------------------------------------------------------------------------ generations

    def add_generations(self, gens: Sequence[Generation]) -> list[int]:
        """Store a batch in one transaction; returns the row id of each generation."""
        at = now()
        ids: list[int] = []
        with self._tx() as conn:
            for g in gens:
                g, raws = repair_generation(g)  # never a UnicodeEncodeError from a model
                if raws:
                    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key)"
                                 " DO UPDATE SET value = excluded.value",
                                 (f"text_repaired:{g.prompt_id}", codec.dumps(raws)))
                n_tokens = g.generated_tokens
                try:
                    cur = conn.execute(
                        "INSERT INTO generations (prompt_id, ok, text, token_ids, logprobs,"
                        " finish_reason, prompt_tokens, completion_tokens, n_tokens, elapsed_s,"
                        " error, created_at, dist_mean, dist_var, max_tokens, attempts)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (prompt_id) DO UPDATE SET ok = excluded.ok,"
                        " text = excluded.text, token_ids = excluded.token_ids,"
                        " logprobs = excluded.logprobs, finish_reason = excluded.finish_reason,"
                        " prompt_tokens = excluded.prompt_tokens,"
                        " completion_tokens = excluded.completion_tokens,"
                        " n_tokens = excluded.n_tokens, elapsed_s = excluded.elapsed_s,"
                        " error = excluded.error, created_at = excluded.created_at,"
                        " dist_mean = excluded.dist_mean, dist_var = excluded.dist_var,"
                        " max_tokens = excluded.max_tokens,"
                        " attempts = generations.attempts + excluded.attempts"
                        " WHERE generations.ok = 0",
                        (g.prompt_id, int(g.ok), g.text, codec.encode_ids(g.token_ids),
                         codec.encode_floats(g.logprobs), g.finish_reason,
                         opt_int(g.prompt_tokens), opt_int(g.completion_tokens),
                         int(n_tokens), float(g.elapsed_s), g.error, at,
                         codec.encode_floats(g.dist_mean), codec.encode_floats(g.dist_var),
                         opt_int(g.max_tokens), max(1, int(g.attempts))),
                    )
                except sqlite3.IntegrityError as exc:
                    raise StoreError(
                        f"cannot store the generation for prompt {g.prompt_id!r}: {exc}",
                        hint="add the prompt with add_prompts first",
                    ) from exc
                row = conn.execute(
                    "SELECT id FROM generations WHERE prompt_id = ?", (g.prompt_id,)
                ).fetchone()
                ids.append(int(row[0]))
                if g.image is not None and cur.rowcount:  # not when an ok row was kept
                    store_image(conn, int(row[0]), g.image)
        return ids

    def generations(self, *, attack: str | None = None, ok_only: bool = True) -> Iterator[Item]:
        """Stored generations with their prompts, in id order (read a page at a time)."""
        last = 0
        while True:
            sql = ITEM_SQL + " WHERE g.id > ?"
            args: list[Any] = [last]
            if ok_only:
                sql += " AND g.ok = 1"
            if attack is not None:
                sql += " AND p.attack = ?"
                args.append(attack)
            rows = self._conn.execute(sql + f" ORDER BY g.id LIMIT {_PAGE}", args).fetchall()
            if not rows:
                return
            for r in rows:
                yield item_from_row(r)
            last = rows[-1][0]

    def get_generation(self, generation_id: int) -> Item:
        row = self._conn.execute(ITEM_SQL + " WHERE g.id = ?", (generation_id,)).fetchone()
        if row is None:
            raise StoreError(f"{self.path} has no generation {generation_id}")
        return item_from_row(row)

    def items(self, generation_ids: Sequence[int]) -> list[Item]:
        """The generations with these ids (with their prompts), in the order asked, read
        with one query (up to ``_PAGE`` ids)."""
        ids = [int(i) for i in generation_ids]
        if len(ids) > _PAGE:
            return [it for k in range(0, len(ids), _PAGE) for it in self.items(ids[k:k + _PAGE])]
        marks = ",".join("?" * len(ids))
        rows = self._conn.execute(ITEM_SQL + f" WHERE g.id IN ({marks})", ids).fetchall()
        found = {int(r[0]): item_from_row(r) for r in rows}
        missing = [i for i in ids if i not in found]
        if missing:
            raise StoreError(f"{self.path} has no generation(s) {missing[:10]}")
        return [found[i] for i in ids]

    # --------------------------------------------------------------------------- findings

    def add_findings(
        self, findings: Sequence[Finding], *, detector: str, generation_ids: Sequence[int]
    ) -> None:
        """Replace ``detector``'s findings for ``generation_ids`` and mark them processed."""
        targets = {int(i) for i in generation_ids}
        for f in findings:
            if f.generation_id not in targets:
                raise StoreError(
                    f"finding for generation {f.generation_id} is outside the batch being "
                    f"stored for detector {detector!r}"
                )
            if f.detector != detector:
                raise StoreError(
                    f"finding from detector {f.detector!r} stored as {detector!r}"
                )
        encoded = [codec.encode_payload(f.payload) for f in findings]
        at = now()
        ordered = sorted(targets)
        with self._tx() as conn:
            conn.executemany(
                "DELETE FROM findings WHERE detector = ? AND generation_id = ?",
                [(detector, i) for i in ordered],
            )
            try:
                conn.executemany(
                    "INSERT INTO detected (generation_id, detector, detected_at)"
                    " VALUES (?, ?, ?) ON CONFLICT (generation_id, detector)"
                    " DO UPDATE SET detected_at = excluded.detected_at",
                    [(i, detector, at) for i in ordered],
                )
            except sqlite3.IntegrityError as exc:
                missing = [i for i in ordered if not self._has_generation(i)]
                raise StoreError(
                    f"{self.path} has no generation(s) {missing[:10]} for detector {detector!r}"
                ) from exc
            conn.executemany(
                "INSERT INTO findings (generation_id, detector, kind, start_char, end_char,"
                " score, data, payload_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(int(f.generation_id), detector, kind, opt_int(f.start), opt_int(f.end),
                  opt_float(f.score), data, version)
                 for f, (kind, version, data) in zip(findings, encoded, strict=True)],
            )

    def _has_generation(self, generation_id: int) -> bool:
        return self._conn.execute(
            "SELECT 1 FROM generations WHERE id = ?", (generation_id,)
        ).fetchone() is not None

    def undetected(self, detector: str) -> list[int]:
        """Ids of successful generations not yet processed by ``detector``."""
        return [r[0] for r in self._conn.execute(
            "SELECT g.id FROM generations g WHERE g.ok = 1 AND NOT EXISTS (SELECT 1 FROM"
            " detected d WHERE d.generation_id = g.id AND d.detector = ?) ORDER BY g.id",
            (detector,),
        )]

    def findings(
        self, *, kind: str | None = None, detector: str | None = None,
        generation_id: int | None = None, generation_ids: Sequence[int] | None = None,
        detectors: Sequence[str] | None = None,
    ) -> Iterator[Finding]:
        """Stored findings, filtered, in insertion order. ``generation_ids`` and
        ``detectors`` select several at once (one query a page)."""
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("kind", kind), ("detector", detector),
                              ("generation_id", generation_id)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        for column, selected in (("generation_id", generation_ids), ("detector", detectors)):
            if selected is not None:
                chosen: list[Any] = list(selected)
                if not chosen:
                    return
                where.append(f"{column} IN ({','.join('?' * len(chosen))})")
                args.extend(chosen)
        last = 0
        while True:
            clause = " AND ".join(["id > ?", *where])
            rows = self._conn.execute(
                "SELECT id, generation_id, detector, kind, start_char, end_char, score, data,"
                f" payload_version FROM findings WHERE {clause} ORDER BY id LIMIT {_PAGE}",
                [last, *args],
            ).fetchall()
            if not rows:
                return
            for r in rows:
                yield Finding(generation_id=r[1], detector=r[2], start=r[4], end=r[5],
                              score=r[6], payload=codec.decode_payload(r[3], r[8], r[7]))
            last = rows[-1][0]

    # ------------------------------------------------------------------------ meta, stats

    def set_meta(self, key: str, value: Any) -> None:
        """Store a small JSON value under ``key`` (e.g. ``status`` = ``"finished"``)."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, codec.dumps(value, f"meta {key!r}")),
            )

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else codec.loads(row[0])

    def modality(self) -> Modality:
        """What the run's target makes (``"text"`` before a run is started)."""
        row = self._conn.execute("SELECT modality FROM run WHERE id = 1").fetchone()
        return "image" if row is not None and row[0] == "image" else "text"

    def is_image_run(self) -> bool:
        return self.modality() == "image"

    def stats(self) -> RunStats:
        """Counts for reports and ``runs show`` (see :class:`RunStats`)."""
        return collect_stats(self._conn)


def _joined(messages: str | None) -> str:
    """``Prompt.as_text()`` of stored chat messages."""
    return "\n".join(m.get("content", "") for m in (codec.loads(messages) or ()))
