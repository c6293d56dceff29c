"""An audit run's results: per-work figures, evidence and the method, read from the store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from regurgitate.audit.evidence import attach_evidence
from regurgitate.audit.figures import WorkFigures, audit_figures
from regurgitate.audit.windows import AuditWindowsAttack
from regurgitate.audit.works import Work
from regurgitate.runtimes.sampling import Sampling
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
                  index: Any | None,
                  possible: dict[str, tuple[int, int]] | None = None) -> list[WorkFigures]:
    figs = audit_figures(store, works, threshold, possible)
    attach_evidence(figs, index)
    return figs


def attach_characters(figs: list[WorkFigures], store: RunStore) -> None:
    """Each work's character-copying figures, from the stored generations."""
    from regurgitate.audit.characters import ATTACK, character_figures

    by_work: dict[str, list[str]] = {}
    controls: list[str] = []
    for it in store.generations(attack=ATTACK):
        if "control" in it.prompt.meta:
            controls.append(it.generation.text)
        else:
            by_work.setdefault(str(it.prompt.meta.get("work_id")), []).append(it.generation.text)
    if not by_work and not controls:
        return
    found = character_figures([f.work for f in figs], by_work, controls)
    for f in figs:
        f.extra["characters"] = found[f.work.id]


def attach_recall(figs: list[WorkFigures], results: Sequence[Any]) -> None:
    """Long-form results (:class:`~regurgitate.audit.longform.LongformResult`) by work."""
    by_id = {r.work_id: r for r in results}
    for f in figs:
        r = by_id.get(f.work.id)
        if r is not None:
            f.extra["recall"] = {**r.recall.as_json(), "turns": r.turns, "stopped": r.stopped}


def load_outputs(path: Any) -> list[tuple[str | None, str]]:
    """Outputs to score: a text file (one output), or JSONL with ``text`` and optional
    ``work_id`` (an output with a work id is scored against that work only)."""
    import json
    from pathlib import Path

    from regurgitate.errors import ConfigError

    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the outputs {p}: {exc}") from None
    if p.suffix.lower() not in (".jsonl", ".ndjson", ".json"):
        return [(None, raw)]
    out: list[tuple[str | None, str]] = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{p}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("text"), str):
            raise ConfigError(f"{p}:{n}: an output needs a 'text' field")
        wid = rec.get("work_id")
        out.append((str(wid) if wid is not None else None, rec["text"]))
    return out


def attach_output_recall(figs: list[WorkFigures], outputs: Sequence[tuple[str | None, str]],
                         *, min_words: int, gap: int) -> None:
    """Near-verbatim recall of each work from a given set of outputs."""
    from regurgitate.audit.recall import near_verbatim_recall

    for f in figs:
        texts = [t for wid, t in outputs if wid is None or wid == f.work.id]
        r = near_verbatim_recall(f.work.text, texts, min_words=min_words, gap=gap)
        f.extra["recall" if "recall" not in f.extra else "outputs_recall"] = {
            **r.as_json(), "outputs": len(texts)}
