"""An audit run's results: per-work figures, evidence and the method, read from the store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from regurgitate.audit.evidence import attach_evidence
from regurgitate.audit.figures import WorkFigures, audit_figures
from regurgitate.audit.windows import AuditWindowsAttack
from regurgitate.audit.works import Work
from regurgitate.extraction import Sampling
from regurgitate.store import RunStore

PROTOCOL = ("Cooper et al. 2025, (n,p)-extraction over whole books (arXiv:2505.12546): "
            "100-token examples, 50-token prefix + 50-token suffix, slid along the book")


def method_of(attack: AuditWindowsAttack, *, threshold: float, target: str,
              tokenizer: str) -> dict[str, Any]:
    sampling = Sampling(attack.np_temperature, attack.np_top_k, attack.np_top_p)
    return {"prefix_tokens": attack.prefix_tokens, "suffix_tokens": attack.suffix_tokens,
            "stride": attack.stride, "sampling": sampling.describe(),
            "temperature": attack.np_temperature, "top_k": attack.np_top_k,
            "top_p": attack.np_top_p, "samples": attack.samples, "threshold": threshold,
            "target": target, "tokenizer": tokenizer, "protocol": PROTOCOL,
            "measure": "hits/n" if attack.samples else "exact p (teacher-forced)"}


def audit_results(store: RunStore, works: Sequence[Work], *, threshold: float,
                  index: Any | None) -> list[WorkFigures]:
    figs = audit_figures(store, works, threshold)
    attach_evidence(figs, index)
    return figs
