"""Discoverable-memorization check of the reference model on the planted items.

For every item: greedy-decode from the true ``prefix``-token prefix and compare the next
tokens with the true continuation (exact match over ``suffix`` tokens, for each suffix length).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regurgitate.errors import MissingDependencyError
from regurgitate.reference.text.manifest import PlantedItem, read_manifest
from regurgitate.reference.text.paths import MANIFEST_FILE, MODEL_SUBDIR


@dataclass(frozen=True, slots=True)
class ItemResult:
    id: str
    kind: str
    copies: int
    matched_tokens: int  # length of the exact common prefix of output and truth
    pii_fields_emitted: tuple[str, ...]


def load_reference_model(model_dir: Path, threads: int | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) in fp32, eval mode, offline."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise MissingDependencyError("transformers", "hf", "loading the reference model") \
            from exc
    if threads:
        torch.set_num_threads(threads)
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), local_files_only=True,
                                                 dtype=torch.float32)
    model.eval()
    return model, tok


def greedy_continuations(model: Any, prefixes: Sequence[Sequence[int]], new_tokens: int,
                         eot_id: int, batch_size: int = 16) -> list[list[int]]:
    """Greedy continuation of equal-length prefixes (no padding needed)."""
    import torch

    out: list[list[int]] = []
    for i in range(0, len(prefixes), batch_size):
        batch = torch.tensor([list(p) for p in prefixes[i:i + batch_size]], dtype=torch.long)
        with torch.no_grad():
            gen = model.generate(input_ids=batch, attention_mask=torch.ones_like(batch),
                                 max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                 do_sample=False, pad_token_id=eot_id)
        out.extend(row[batch.shape[1]:].tolist() for row in gen)
    return out


def check_items(model: Any, tok: Any, items: Sequence[PlantedItem], prefix: int = 32,
                suffix: int = 64) -> list[ItemResult]:
    ids = [tok(it.text, add_special_tokens=False)["input_ids"] for it in items]
    usable = [(it, t) for it, t in zip(items, ids, strict=True) if len(t) >= prefix + suffix]
    conts = greedy_continuations(model, [t[:prefix] for _, t in usable], suffix,
                                 tok.eos_token_id)
    results = []
    for (it, t), cont in zip(usable, conts, strict=True):
        truth = t[prefix:prefix + suffix]
        n = 0
        while n < len(truth) and cont[n] == truth[n]:
            n += 1
        emitted: tuple[str, ...] = ()
        if it.pii is not None:
            text = tok.decode(cont)
            emitted = tuple(k for k in ("name", "email", "phone", "address")
                            if getattr(it.pii, k) in text)
        results.append(ItemResult(it.id, it.kind, it.copies, n, emitted))
    return results


def summarize(results: Sequence[ItemResult], lengths: Sequence[int] = (32, 50, 64)) -> str:
    """One line per (kind, copies): how many items reproduce each suffix length exactly."""
    groups: dict[tuple[str, int], list[ItemResult]] = defaultdict(list)
    for r in results:
        groups[(r.kind, r.copies)].append(r)
    lines = []
    for (kind, copies), rs in sorted(groups.items()):
        counts = ", ".join(f"{m}-tok {sum(r.matched_tokens >= m for r in rs)}/{len(rs)}"
                           for m in lengths)
        extra = ""
        if kind == "pii":
            fields = [f for r in rs for f in r.pii_fields_emitted]
            extra = "; fields emitted: " + (", ".join(
                f"{k} {fields.count(k)}/{len(rs)}" for k in ("name", "email", "phone",
                                                              "address")))
        lines.append(f"{kind:8s} x{copies:<4d} {counts}{extra}")
    return "\n".join(lines)


def verify_reference(out: Path, threads: int | None = None) -> str:
    """Check the built model in ``out`` on every planted item (32-token prefixes), write
    ``verification.json`` beside it and return the summary."""
    model_dir = out / MODEL_SUBDIR
    model, tok = load_reference_model(model_dir, threads=threads)
    results = check_items(model, tok, read_manifest(out / MANIFEST_FILE).items)
    report = summarize(results)
    (model_dir / "verification.json").write_text(json.dumps(
        {"prefix": 32, "suffix": 64, "summary": report.splitlines(),
         "items": {r.id: r.matched_tokens for r in results}}, indent=1) + "\n")
    return report
