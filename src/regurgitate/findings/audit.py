"""The finding kind of ``regurgitate audit``: one window of a work, measured under teacher
forcing (written by :mod:`regurgitate.audit.detector`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from regurgitate.findings.base import Payload


@dataclass(frozen=True)
class AuditWindow(Payload):
    """One window of a work, measured under teacher forcing (see
    :mod:`regurgitate.audit.detector`).
    ``suffix_start``/``suffix_end``: the suffix's character offsets in the work."""

    kind: ClassVar[str] = "audit_window"
    version: ClassVar[int] = 1
    report_label: ClassVar[str] = "audit windows"
    work_id: str
    window: int
    suffix_start: int
    suffix_end: int
    suffix_tokens: int
    p: float
    log_p: float | None
    greedy: bool
    #: leading suffix tokens greedy decoding reproduces; None where the target's scorer gives
    #: whole-suffix probabilities only (a plugin's :meth:`Target.suffix_scorer`)
    greedy_tokens: int | None
    sampling: str
    n50: int | None = None
    n90: int | None = None
