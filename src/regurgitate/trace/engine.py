"""The trace engine: one answer (a model's, or any pasted text) traced to the corpus.

:meth:`TraceEngine.trace` computes the verbatim spans, their periodic runs, the coverage, the
closest works and the verdict with :func:`regurgitate.check.closeness.closeness` and
:func:`~regurgitate.check.closeness.report_to_dict`, called exactly as ``regurgitate check``
calls them, so the spans equal ``check --json``'s for the same text and settings. On top it
adds what the page shows: the spans ranked longest first, then rarest (fewest corpus
occurrences), PII found by the ``pii`` detector (with its corpus look-up, and whether it lies
inside a verbatim span), near-verbatim passages (the works whose longest aligned passage has
edit similarity >= 0.9 over >= ``min_tokens`` tokens, the near-verbatim detector's rule) and,
for a model's answer with log-probabilities, the membership signals of that one answer.

:meth:`TraceEngine.sources` reads a span's source documents (the corpus's own ids) and the
context around each match from the index. The index is opened through the one index opener
(local, sharded, remote, any format it knows); the target is built on the first chat and kept.
Errors are :class:`~regurgitate.errors.RegurgitateError`\\ s whose messages the page shows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regurgitate.errors import ConfigError, IndexUnavailableError, RegurgitateError, TargetError
from regurgitate.trace.marks import membership, near_passages, pii_marks, ranked
from regurgitate.types import Generation, GenerationSettings, Item, Prompt

#: answers kept for span look-ups, evidence and saving (the oldest are dropped first)
MAX_ANSWERS = 500
#: occurrences read to find a span in each of its listed documents
OCCURRENCE_LIMIT = 10_000


@dataclass(frozen=True)
class TraceSettings:
    """How answers are traced (the ``check`` options of the same names) and the page's limits."""

    min_tokens: int = 50
    max_docs: int = 10
    works: int = 10
    seed_tokens: int | None = None
    #: longest text traced, in characters
    max_chars: int = 100_000
    #: tokens of context read on each side of a match in a source document
    context_tokens: int = 60
    #: most tokens one chat answer may ask for
    max_new_tokens: int = 1024

    def __post_init__(self) -> None:
        if self.min_tokens < 1 or self.max_docs < 1 or self.works < 0:
            raise ConfigError("--min-tokens and --max-docs must be >= 1, --works >= 0")
        if self.max_chars < 1 or self.context_tokens < 0 or self.max_new_tokens < 1:
            raise ConfigError("--max-chars and --max-new-tokens must be >= 1")


@dataclass(frozen=True)
class Answer:
    """One traced text: the prompt and generation it came from (a pasted text has a
    generation with the text alone and no prompt text) and what the page shows of it."""

    id: str
    prompt: Prompt
    generation: Generation
    pasted: bool
    data: dict[str, Any] = field(default_factory=dict)


def open_text_index(spec: str | Path, *, tokenizer: str | None = None,
                    token_dtype: str | None = None) -> Any:
    """A corpus index through the one index opener (local, sharded, remote, and every
    format it knows); ConfigError for an image index. ``tokenizer`` names one for an index
    built by infini-gram's own indexer."""
    from regurgitate.index.open import open_index

    tok = None
    if tokenizer:
        from regurgitate.corpus.tokenizer import load_tokenizer

        tok = load_tokenizer(tokenizer)
    return open_index(spec, modality="text", token_dtype=token_dtype, tokenizer=tok)


def check_data(index: Any, text: str, settings: TraceSettings, *,
               works: bool = True) -> dict[str, Any]:
    """``regurgitate check --json``'s object for ``text`` (the same calls, the same document
    lists cut to ``max_docs``), without its ``index`` key. With ``works=False`` no work is
    compared: the spans, runs and coverage are the same (they are found before any work is
    chosen), ``works`` is empty and ``verdict`` and ``candidate_works`` are None."""
    from regurgitate.check.closeness import closeness, report_to_dict

    report = closeness(index, text, min_tokens=settings.min_tokens,
                       seed_tokens=settings.seed_tokens,
                       max_docs=max(settings.max_docs, 100),
                       top_works=settings.works if works else 0)
    data = report_to_dict(report, index, text)
    parts = [p for s in data["spans"] for p in (s, s["window"] or {})]
    parts += [p for r in data["runs"] for p in (r, r["span"], r["span"]["window"] or {})]
    for part in parts:
        for key in ("documents", "doc_ids", "sources"):
            if key in part:
                part[key] = part[key][:settings.max_docs]
    if not works:
        data["verdict"] = data["candidate_works"] = None
    return data


def settings_from(raw: dict[str, Any], limit: int) -> GenerationSettings:
    """Decoding settings from the page's form (unknown keys refused, values checked)."""
    from regurgitate.targets.settings import validate_settings

    fields = {"max_new_tokens": int, "temperature": float, "top_k": int, "top_p": float,
              "greedy": bool, "seed": int, "frequency_penalty": float,
              "presence_penalty": float, "repetition_penalty": float, "min_new_tokens": int}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"unknown decoding setting(s): {', '.join(unknown)}",
                          hint=f"valid: {', '.join(fields)}")
    values: dict[str, Any] = {}
    for key, kind in fields.items():
        if key not in raw or raw[key] is None or raw[key] == "":
            continue
        value = raw[key]
        try:
            if kind is bool:
                if not isinstance(value, bool):
                    raise ValueError
                values[key] = value
            else:
                values[key] = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"decoding setting {key} must be a {kind.__name__}, "
                              f"got {value!r}") from None
    settings = GenerationSettings(**values)
    validate_settings(settings)
    if settings.max_new_tokens > limit:
        raise ConfigError(f"max_new_tokens is {settings.max_new_tokens}; this page allows at "
                          f"most {limit}", hint="restart trace with a larger --max-new-tokens")
    return settings


class TraceEngine:
    """An index (opened on first use, the opening retried after a failure), a target (built
    on the first chat) and the answers traced so far.

    ``open_index(spec)`` and ``make_target(spec)`` build them (the CLI passes the one index
    opener and the target-spec builder). Safe to call from several threads: generation is
    serialised, answers are held under a lock."""

    def __init__(self, index_spec: str | Path | None, target_spec: str | None,
                 settings: TraceSettings, *, open_index: Callable[[str | Path], Any],
                 make_target: Callable[[str], Any] | None = None,
                 index_problem: str | None = None) -> None:
        self.index_spec = index_spec
        self.target_spec = target_spec
        self.settings = settings
        self._open_index = open_index
        self._make_target = make_target
        self._index: Any = None
        self._index_problem = index_problem
        self._target: Any = None
        self._lock = threading.Lock()  # the answers
        self._index_lock = threading.Lock()  # opening the index
        self._target_lock = threading.Lock()  # building the target
        self._gen_lock = threading.Lock()  # one generation at a time
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        self._ids = itertools.count(1)

    # -- the index and the target

    def index(self) -> Any:
        """The index, opened now if it is not yet (IndexUnavailableError saying why not)."""
        with self._index_lock:
            if self._index is not None:
                return self._index
            if self.index_spec is None:
                raise IndexUnavailableError(
                    self._index_problem or "no index: this page cannot trace",
                    hint="restart with --index DIR (a corpus index) or --index reference")
            try:
                self._index = self._open_index(self.index_spec)
            except RegurgitateError as exc:
                raise IndexUnavailableError(f"the index {self.index_spec} cannot be opened: "
                                            f"{exc}") from exc
            return self._index

    def index_status(self) -> dict[str, Any]:
        """What the page says about the index: its description, or why it cannot be used."""
        try:
            idx = self.index()
        except RegurgitateError as exc:
            return {"spec": str(self.index_spec) if self.index_spec else None,
                    "ok": False, "error": str(exc)}
        info = getattr(idx, "info", {}) or {}
        return {"spec": str(self.index_spec), "ok": True,
                "documents": info.get("num_docs"), "tokens": info.get("num_tokens"),
                "unit": _unit(info)}

    def target(self) -> Any:
        if self.target_spec is None or self._make_target is None:
            raise ConfigError("no target: this page traces pasted text only",
                              hint="restart with --target SPEC to chat with a model")
        with self._target_lock:
            if self._target is None:
                try:
                    self._target = self._make_target(self.target_spec)
                except RegurgitateError:
                    raise
                except Exception as exc:  # a backend's own failure, said on the page
                    raise TargetError(f"the target {self.target_spec} could not be "
                                      f"started: {type(exc).__name__}: {exc}") from exc
            return self._target

    @property
    def loaded_target(self) -> Any:
        """The target if a chat has built it, else None (nothing is loaded for asking)."""
        return self._target

    def close(self) -> None:
        with self._target_lock:
            target, self._target = self._target, None
        with self._index_lock:
            index, self._index = self._index, None
        for thing in (target, index):
            closer = getattr(thing, "close", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    closer()

    def warm_up(self) -> None:
        """Trace a short text once, so that the first answer does not pay for compiling
        and loading what the index's queries use."""
        import regurgitate.detectors.pii
        import regurgitate.metrics.membership_signals
        import regurgitate.runtimes.scoring  # noqa: F401 - loaded now, not on an answer

        # on failure the page says what is wrong when a text is traced
        with contextlib.suppress(RegurgitateError, OSError, IndexError):
            idx = self.index()
            _unit(getattr(idx, "info", {}) or {})
            # a stretch of the corpus itself: a verbatim span, its windows, a work
            head = idx.document_tokens(0)[:2 * self.settings.min_tokens + 2]
            text = ("warming up, mail warm@example.org: "
                    + idx.tokenizer.decode([int(t) for t in head]))
            data = check_data(idx, text, self.settings)
            pii_marks(idx, Item(0, Prompt("warm", "trace", text, GenerationSettings()),
                                Generation("warm", text)), data["coverage"], 1)

    # -- tracing

    def too_long(self, text: str) -> str | None:
        """Why ``text`` is too long to trace here, or None."""
        if len(text) <= self.settings.max_chars:
            return None
        return (f"the text is {len(text):,} characters long; this page traces at most "
                f"{self.settings.max_chars:,} (trace a part of it, restart with a larger "
                "--max-chars, or use `regurgitate check FILE`)")

    def check_length(self, text: str) -> None:
        """ConfigError when ``text`` is too long to trace here."""
        problem = self.too_long(text)
        if problem is not None:
            raise ConfigError(problem)

    def trace_text(self, text: str) -> Answer:
        """Trace a pasted text."""
        n = next(self._ids)
        prompt = Prompt(id=f"trace-{n}", attack="trace", text="",
                        settings=GenerationSettings(), meta={"pasted": True})
        return self._trace(n, prompt, Generation(prompt_id=prompt.id, text=text), pasted=True)

    def chat(self, form: str, prompt_text: str | None, messages: list[dict[str, str]] | None,
             raw_settings: dict[str, Any]) -> Answer:
        """Ask the target (``form`` "chat" with ``messages``, or "completion" with
        ``prompt_text``) and trace its answer."""
        settings = settings_from(raw_settings, self.settings.max_new_tokens)
        n = next(self._ids)
        if form == "chat":
            if not messages:
                raise ConfigError("a chat needs at least one message")
            clean = tuple({"role": _role(m.get("role")), "content": _content(m.get("content"))}
                          for m in messages)
            self.check_length("".join(m["content"] for m in clean))
            prompt = Prompt(id=f"trace-{n}", attack="trace", text=None, settings=settings,
                            messages=clean, meta={"form": "chat"})
        elif form == "completion":
            text = _content(prompt_text)
            self.check_length(text)
            prompt = Prompt(id=f"trace-{n}", attack="trace", text=text, settings=settings,
                            meta={"form": "completion"})
        else:
            raise ConfigError(f"unknown form {form!r}", hint="valid: chat, completion")
        target = self.target()
        with self._gen_lock:
            try:
                gens = target.generate([prompt])
            except RegurgitateError:
                raise
            except Exception as exc:  # a backend's own failure, said on the page
                raise TargetError(f"the target failed: {type(exc).__name__}: {exc}") from exc
        gen = gens[0]
        if gen.error is not None:
            raise TargetError(f"the target failed: {gen.error}")
        return self._trace(n, prompt, gen, pasted=False)

    def _trace(self, n: int, prompt: Prompt, gen: Generation, *, pasted: bool) -> Answer:
        text = gen.text
        self.check_length(text)
        idx = self.index()
        t0 = time.perf_counter()
        try:
            data = check_data(idx, text, self.settings, works=False)
            item = Item(generation_id=n, prompt=prompt, generation=gen)
            pii = pii_marks(idx, item, data["coverage"], self.settings.max_docs)
        except RegurgitateError:
            raise
        except OSError as exc:  # an index whose files went away under it
            raise IndexUnavailableError(f"the index could not be read: {exc}") from exc
        if pasted:  # no model counted them: its tokens under the index's tokenizer
            gen = dataclasses.replace(gen, completion_tokens=int(data["tokens"]))
        shown = {"id": prompt.id, "text": text, "pasted": pasted,
                 "prompt": None if pasted else _prompt_view(prompt),
                 "finish_reason": gen.finish_reason, "check": data,
                 "ranked": ranked(data), "pii": pii,
                 "membership": membership(gen), "unit": _unit(getattr(idx, "info", {}) or {}),
                 "server_ms": 0.0}
        shown["server_ms"] = round(1000 * (time.perf_counter() - t0), 1)
        answer = Answer(prompt.id, prompt, gen, pasted, shown)
        with self._lock:
            self._answers[answer.id] = answer
            while len(self._answers) > MAX_ANSWERS:
                self._answers.popitem(last=False)
        return answer

    def answer(self, answer_id: str) -> Answer:
        with self._lock:
            found = self._answers.get(str(answer_id))
        if found is None:
            raise ConfigError(f"answer {answer_id!r} is not held by this server (it was "
                              "restarted, or the answer is older than its last "
                              f"{MAX_ANSWERS} answers)", hint="trace the text again")
        return found

    def works(self, answer_id: str) -> dict[str, Any]:
        """The closeness figures of an answer (``check``'s works, verdict and candidate
        works) and its near-verbatim passages: the part of ``check`` that compares the text
        with whole works, asked for after the spans are shown."""
        answer = self.answer(answer_id)
        t0 = time.perf_counter()
        data = check_data(self.index(), answer.generation.text, self.settings)
        return {"answer": answer.id, "works": data["works"], "verdict": data["verdict"],
                "candidate_works": data["candidate_works"], "near": near_passages(data),
                "server_ms": round(1000 * (time.perf_counter() - t0), 1)}

    def sources(self, answer_id: str, token_start: int, token_end: int,
                documents: list[int] | None = None) -> dict[str, Any]:
        """The source documents of the tokens ``[token_start, token_end)`` of an answer
        (a span), each with the context around its first occurrence there: those listed in
        ``documents`` (internal ids, as ``check`` lists them), else the first ``max_docs``
        documents holding it."""
        answer = self.answer(answer_id)
        idx = self.index()
        ids = [int(t) for t in idx.tokenizer.encode(answer.generation.text)]
        if not 0 <= token_start < token_end <= len(ids):
            raise ConfigError(f"tokens {token_start}-{token_end} are not in this answer "
                              f"({len(ids)} tokens)")
        piece = ids[token_start:token_end]
        count = int(idx.count(piece))
        limit = self.settings.max_docs
        wanted = [int(d) for d in documents][:limit] if documents else None
        first: dict[int, int] = {}
        for occ in idx.occurrences(piece, limit=min(max(count, 1), OCCURRENCE_LIMIT)):
            doc = int(occ.doc_id)
            if wanted is None and doc not in first and len(first) >= limit:
                break
            first.setdefault(doc, int(occ.token_offset))
        docs = wanted if wanted is not None else list(first)[:limit]
        out = []
        margin = self.settings.context_tokens
        for doc in docs:
            meta = idx.document_meta(doc)
            entry: dict[str, Any] = {
                "id": idx.doc_name(doc), "doc_id": doc,
                "title": _field(meta, "title", "name"), "url": _field(meta, "url", "link"),
                "token_offset": first.get(doc)}
            if doc in first:
                before, match, after = idx.context(doc, first[doc], len(piece), margin=margin)
                entry.update(before=before, match=match, after=after)
            out.append(entry)
        return {"answer": answer.id, "token_start": token_start, "token_end": token_end,
                "tokens": len(piece), "count": count, "sources": out}


def _unit(info: dict[str, Any]) -> str:
    from regurgitate.reports.units import index_unit

    try:
        return index_unit(info)
    except Exception:
        return "tokens"


def _field(meta: dict[str, Any], *keys: str) -> str | None:
    for k in keys:
        v = meta.get(k)
        if isinstance(v, str) and v.strip():
            return v
    return None


def _role(value: Any) -> str:
    if value not in ("system", "user", "assistant"):
        raise ConfigError(f"unknown chat role {value!r}", hint="valid: system, user, assistant")
    return str(value)


def _content(value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError("a prompt or message must be text")
    return value


def _prompt_view(prompt: Prompt) -> dict[str, Any]:
    from dataclasses import asdict

    return {"form": prompt.meta.get("form"), "text": prompt.text,
            "messages": [dict(m) for m in prompt.messages or ()],
            "settings": asdict(prompt.settings)}
