"""What the OpenAI target learns about an endpoint during a run (thread-safe, one per target).

- :class:`FailureStreak`: identical failures (same status, same body) with no success in
  between. Once one prompt has met the same failure ``attempts`` times and at least two
  prompts have met it, while no other request is still being answered, the failure is not
  transient: the scan stops with one message instead of spending every prompt's retries
  on it. (A request still pending means the endpoint may be working and the failure may
  belong to the failing prompts alone.) Answers that ask the client to come
  back (429, 503, any ``Retry-After``) never count.
- :class:`EndpointNotes`: the controls the endpoint refused (and so were dropped), how
  ``ignore_eos`` was carried out, requests cut to fit the context, and whether samples of
  one prompt drawn with different seeds differ at all (an endpoint that ignores
  ``temperature``/``seed`` makes every sample-based figure meaningless).
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

#: statuses that mean "come back later": never evidence of a broken setup
_TRANSIENT = frozenset({429, 503})
#: shortest answer text the sampling check compares (very short texts may match by chance)
MIN_SAMPLE_CHARS = 20


class FailureStreak:
    """Identical failures since the last success, per signature."""

    def __init__(self, attempts: int = 3, prompts: int = 2) -> None:
        self.attempts = attempts
        self.prompts = prompts
        self._lock = threading.Lock()
        self._seen: dict[str, dict[str, int]] = {}
        #: prompts sent and not answered yet that have not failed: while one is pending,
        #: the endpoint may still be working (a failure may be the prompt's own)
        self._clean: set[str] = set()

    def sending(self, prompt_id: str) -> None:
        with self._lock:
            self._clean.add(prompt_id)

    def done(self, prompt_id: str) -> None:
        with self._lock:
            self._clean.discard(prompt_id)

    def success(self, prompt_id: str = "") -> None:
        with self._lock:
            self._seen.clear()
            self._clean.discard(prompt_id)

    def failure(self, prompt_id: str, status: int | None, body: str, retryable: bool = True,
                retry_after: bool = False) -> bool:
        """Record one failed attempt; True when the streak says: stop the scan. A failure
        that is not retried (a 4xx) stops it once three prompts met it."""
        if status in _TRANSIENT or retry_after:
            return False
        signature = f"{status}\x00{body}"
        with self._lock:
            self._clean.discard(prompt_id)
            per_prompt = self._seen.setdefault(signature, {})
            per_prompt[prompt_id] = per_prompt.get(prompt_id, 0) + 1
            if self._clean:
                return False
            if not retryable:
                return len(per_prompt) >= max(3, self.prompts)
            return (len(per_prompt) >= self.prompts
                    and max(per_prompt.values()) >= self.attempts)


def sample_key(body: dict[str, Any]) -> str:
    """A request body without its seed: samples of one prompt share it."""
    rest = {k: v for k, v in body.items() if k != "seed"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, default=str).encode()).hexdigest()


class EndpointNotes:
    """Controls refused and dropped, end-of-text handling, cuts, and the sampling check."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.refused: list[str] = []
        self.sent: set[str] = set()
        self.eos_handling: str | None = None
        self.context: int | None = None
        self.context_source: str | None = None
        self.cut = 0
        self.cut_min: int | None = None
        self._first: dict[str, tuple[int, str]] = {}
        self.identical = 0
        self.differing = 0

    def refuse(self, field: str) -> bool:
        """Mark ``field`` refused; True the first time (the caller says so once)."""
        with self._lock:
            if field in self.refused:
                return False
            self.refused.append(field)
            return True

    def is_refused(self, field: str) -> bool:
        with self._lock:
            return field in self.refused

    def used(self, fields: set[str]) -> None:
        with self._lock:
            self.sent.update(fields)

    def cut_to(self, max_tokens: int) -> None:
        with self._lock:
            self.cut += 1
            self.cut_min = max_tokens if self.cut_min is None else min(self.cut_min, max_tokens)

    def sample(self, body: dict[str, Any], text: str) -> None:
        """Compare a sampled answer with the first answer to the same body under another seed."""
        seed = body.get("seed")
        if seed is None or not body.get("temperature") or len(text) < MIN_SAMPLE_CHARS:
            return
        key = sample_key(body)
        with self._lock:
            first = self._first.setdefault(key, (int(seed), text))
            if first[0] == seed:
                return
            if first[1] == text:
                self.identical += 1
            else:
                self.differing += 1

    @property
    def not_sampling(self) -> bool:
        return self.identical >= 2 and self.differing == 0

    def as_dict(self) -> dict[str, Any]:
        """What the run records (meta ``endpoint``) and reports show."""
        with self._lock:
            out: dict[str, Any] = {
                "honoured": sorted(self.sent - set(self.refused)),
                "refused": list(self.refused),
            }
            if self.eos_handling:
                out["ignore_eos"] = self.eos_handling
            if self.context:
                out["context"] = self.context
                out["context_source"] = self.context_source
            if self.cut:
                out["max_tokens_cut"] = {"requests": self.cut, "smallest": self.cut_min}
            if self.identical or self.differing:
                out["sampling"] = {"identical_pairs": self.identical,
                                   "differing_pairs": self.differing,
                                   "not_sampling": self.not_sampling}
            return out
