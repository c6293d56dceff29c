"""A trace session's answers as a run: evidence packets of one answer, and the whole
session saved into the run store.

Both go through the code scans use: the answers become prompts and generations of a run
(attack ``trace``), the registered text detectors judge them (:func:`regurgitate.scan.pipeline.
detect_all`), and the packets are :func:`regurgitate.reports.text_evidence.build_packets` of
that run, the packets ``regurgitate export --format evidence`` writes. A saved session opens
with ``regurgitate report RUN`` like any scan.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regurgitate.errors import ConfigError, StoreError
from regurgitate.trace.engine import Answer, TraceEngine
from regurgitate.types import Item, RunSpec
from regurgitate.version import __version__

#: the attack name a trace session's prompts carry in the run store
ATTACK = "trace"


def _spec(engine: TraceEngine) -> RunSpec:
    target = engine.target_spec or "pasted-text"
    return RunSpec(target=f"trace:{target}", attacks=(ATTACK,),
                   index=str(engine.index_spec) if engine.index_spec else None,
                   settings={"min_tokens": engine.settings.min_tokens,
                             "max_docs": engine.settings.max_docs, "seed": None,
                             "options": {}},
                   tool_version=__version__, modality="text")


def _detectors(engine: TraceEngine, index: Any) -> list[Any]:
    from regurgitate.detectors.base import DetectorContext
    from regurgitate.scan.assembly import default_detectors

    ctx = DetectorContext(index=index, min_tokens=engine.settings.min_tokens,
                          max_docs=engine.settings.max_docs, target=engine.loaded_target,
                          modality="text")
    return default_detectors(ctx, {})


def evidence_packets(engine: TraceEngine, answer: Answer) -> list[dict[str, Any]]:
    """The evidence packets of one answer (one per unique memorized sequence, as ``export
    --format evidence`` writes them), each with its readable page under ``html``."""
    from regurgitate.detectors.base import Prior
    from regurgitate.detectors.verbatim import VerbatimDetector
    from regurgitate.reports.text_data import RunData
    from regurgitate.reports.text_evidence import build_packets, packet_html

    index = engine.index()
    item = Item(generation_id=1, prompt=answer.prompt, generation=answer.generation)
    verbatim = VerbatimDetector(index, min_tokens=engine.settings.min_tokens,
                                max_docs=engine.settings.max_docs)
    findings = verbatim.detect([item], Prior())
    run = RunData(spec=_spec(engine), items=[item], findings=findings,
                  index_info=getattr(index, "info", None))
    packets = build_packets(run, index, max_sources=engine.settings.max_docs)
    return [{**p, "html": packet_html(p)} for p in packets]


def default_run_path(directory: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    return directory / f"trace-{stamp}.db"


def save_session(engine: TraceEngine, answers: Sequence[Answer], path: Path) -> Path:
    """Write ``answers`` as a finished run at ``path`` (a new file): their prompts and
    generations, the text detectors' findings and the index's description."""
    import json

    from regurgitate.scan.pipeline import detect_all
    from regurgitate.store import RunStore
    from regurgitate.store.rows import now

    if not answers:
        raise ConfigError("nothing to save: trace a text or ask the model first")
    if path.exists():
        raise ConfigError(f"{path} exists; a session is saved into a new run file")
    index = engine.index()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with RunStore.open(path) as store:
            store.init_run(_spec(engine))
            store.set_meta("status", "running")
            store.set_meta("started_at", now())
            store.set_meta("index_info", json.loads(json.dumps(
                getattr(index, "info", {}) or {}, default=str)))
            store.add_prompts([a.prompt for a in answers])
            store.add_generations([a.generation for a in answers])
            detect_all(store, _detectors(engine, index))
            store.set_meta("status", "finished")
            store.set_meta("finished_at", now())
    except OSError as exc:
        raise StoreError(f"cannot write the run {path}: {exc}") from exc
    return path


def safe_run_name(name: str) -> str:
    """A run file name typed on the page, kept to one plain file name ending in .db."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip(".-")[:80]
    if not stem:
        raise ConfigError("give the run a file name (letters, digits, . _ -)")
    return stem if stem.endswith(".db") else stem + ".db"
