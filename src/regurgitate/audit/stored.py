"""An audit run read back from its run store: what ``regurgitate report`` shows for a run
``regurgitate audit`` wrote (the per-work view, not a scan summary).

The run records its works' path and digest, the window scheme and the sampling; the works'
texts themselves stay the user's, so they are read again (from the recorded path, or the one
given) and must match the digest.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from regurgitate.audit.figures import WorkFigures, rank
from regurgitate.audit.results import attach_characters, audit_results, method_of
from regurgitate.audit.windows import ATTACK, AuditWindowsAttack
from regurgitate.audit.works import load_works, works_digest
from regurgitate.errors import ConfigError
from regurgitate.store import RunStore
from regurgitate.types import RunSpec

#: the audit's default --threshold (p at or above which a window counts as extracted)
THRESHOLD = 0.5


def is_audit_run(spec: RunSpec | None) -> bool:
    """Whether ``spec`` is a run ``regurgitate audit`` wrote."""
    return spec is not None and isinstance(spec.settings.get("audit"), dict)


def stored_audit(store: RunStore, *, works: Path | None = None,
                 threshold: float = THRESHOLD) -> tuple[list[WorkFigures], dict[str, Any]]:
    """The per-work figures (ranked) and the method of the audit run in ``store``; ``works``
    replaces the recorded path of the works (they moved)."""
    spec = store.spec()
    if spec is None or not is_audit_run(spec):
        raise ConfigError(f"{store.path} is not an audit run")
    audit = spec.settings["audit"]
    options = dict(spec.settings.get("options", {}).get(ATTACK, {}))
    path = works or (Path(options["works"]) if options.get("works") else None)
    if path is None or not path.exists():
        raise ConfigError(f"this audit's works are not at {path}: the run keeps their digest, "
                          "not their text", hint="pass them: regurgitate report RUN --works WORKS")
    loaded = load_works(path)
    if works_digest(loaded) != audit.get("works_digest"):
        raise ConfigError(f"{path} holds other works than this audit run measured",
                          hint="pass the works the audit ran on: --works WORKS")
    fields = {f.name for f in dataclasses.fields(AuditWindowsAttack) if f.init}
    attack = AuditWindowsAttack(**{k: v for k, v in options.items()
                                   if k in fields and k not in ("works", "tokenizer")},
                                works=tuple(loaded), samples=int(audit.get("samples", 0)))
    figs = audit_results(store, loaded, threshold=threshold, index=None)
    attach_characters(figs, store)
    method = method_of(attack, threshold=threshold, target=spec.target,
                       tokenizer=str(audit.get("tokenizer") or "the index's tokenizer"))
    return rank(figs), method
