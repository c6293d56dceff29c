"""Retrying one request: which answers are retried, how long to wait, and when identical
failures mean the endpoint is broken rather than busy.

- 429, 5xx, timeouts, dropped connections and unparseable bodies are retried, waiting
  ``Retry-After`` when the server sends it (seconds or an HTTP date, capped at ``backoff_max``),
  else ``backoff_base * 2**attempt`` capped at ``backoff_max`` with jitter (:class:`Backoff`).
- :class:`FailureStreak`: identical failures (same status, same body) with no success in
  between. Once one prompt has met the same failure ``attempts`` times and at least two
  prompts have met it, while no other request is still being answered, the failure is not
  transient: the scan stops with one message instead of spending every prompt's retries
  on it. (A request still pending means the endpoint may be working and the failure may
  belong to the failing prompts alone.) Answers that ask the client to come
  back (429, 503, any ``Retry-After``) never count.
"""

from __future__ import annotations

import email.utils
import random
import threading
from datetime import UTC, datetime

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
#: statuses that mean "come back later": never evidence of a broken setup
_TRANSIENT = frozenset({429, 503})


def is_retryable(status: int) -> bool:
    return status in RETRY_STATUSES or status >= 500


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


class Backoff:
    """Waits between retries: ``Retry-After`` (capped), else doubling with jitter."""

    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap
        self._rng = random.Random()
        self._lock = threading.Lock()

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.cap)
        ceiling = min(self.cap, self.base * (2**attempt))
        with self._lock:
            return self._rng.uniform(ceiling / 2, ceiling)


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
