"""What a scan's prompts and model figures depend on, resolved once per run from the target.

A :class:`TargetProfile` holds the facts of a loaded target that shape a prompt or a number
computed with the model: the BOS rule (the tokenizer's BOS token, and whether its default
encoding adds it by itself), a fingerprint of the tokenizer and of its chat template, the
context window, the batch size and the CPU threads the model computes with (float sums
depend on how work is split over threads). The driver resolves it once (from the target
built from its spec: a local one, or the replicas of an executor, which must all agree),
records it in the run's meta and uses it for every prompt; every replica computes with the
recorded threads. A resumed run reuses the recorded threads, and refuses when the target now
resolves other model facts (see :func:`profile_diffs`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from regurgitate.corpus.tokenizer import definition_fingerprint

if TYPE_CHECKING:
    from regurgitate.corpus.tokenizer import Tokenizer

#: the run meta key the resolved profile is recorded under
PROFILE_META = "target_profile"
#: the run meta key recording where generation and model figures ran (executor, threads,
#: replicas, batch plan)
EXECUTION_META = "execution"
#: the run meta key listing figures a start of the run could not compute, and why
NOT_COMPUTED_META = "not_computed"


@dataclass(frozen=True)
class TargetProfile:
    """A target's prompt-relevant facts; None where the target has no such thing (HTTP APIs
    have no local tokenizer)."""

    #: the BOS token text (None: the tokenizer has none)
    bos_token: str | None = None
    #: whether the tokenizer's default encoding starts with the BOS token by itself
    adds_bos: bool = False
    #: fingerprint of the target's tokenizer (its vocabulary and merges)
    tokenizer: str | None = None
    #: fingerprint of the tokenizer's chat template (None: none, the plain fallback is used)
    chat_template: str | None = None
    #: the model's context window in tokens
    context: int | None = None
    #: prompts one generate call of one model copy receives
    batch_size: int | None = None
    #: CPU threads the model computes with (None: not a local model)
    threads: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Any) -> TargetProfile | None:
        if not isinstance(raw, dict):
            return None
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


#: the facts a resumed run must find unchanged (threads are pinned to the recorded value)
MODEL_FACTS = ("bos_token", "adds_bos", "tokenizer", "chat_template", "context", "batch_size")


def profile_diffs(stored: TargetProfile, now: TargetProfile) -> list[str]:
    """``field: stored X, now Y`` for every fact that differs (threads only when both are
    known: a resumed scan pins the recorded threads)."""
    names = [*MODEL_FACTS, *(("threads",) if stored.threads and now.threads else ())]
    return [f"{name}: stored {getattr(stored, name)!r}, now {getattr(now, name)!r}"
            for name in names if getattr(stored, name) != getattr(now, name)]


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def tokenizer_facts(tokenizer: Any) -> dict[str, Any]:
    """The BOS rule and fingerprints of a transformers tokenizer (see :class:`TargetProfile`)."""
    bos_token = getattr(tokenizer, "bos_token", None)
    bos_id = getattr(tokenizer, "bos_token_id", None)
    has_bos = isinstance(bos_token, str) and bool(bos_token) and bos_id is not None
    adds = False
    if has_bos:
        try:
            adds = list(tokenizer("x")["input_ids"][:1]) == [bos_id]
        except (TypeError, KeyError, ValueError):
            adds = True  # unknown tokenizer: do not risk a doubled BOS
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        # the encoding itself, not the padding/truncation state a batch call leaves behind
        fingerprint = definition_fingerprint(backend.to_str())
    else:
        fingerprint = _digest(json.dumps(tokenizer.get_vocab(), sort_keys=True))
    template = getattr(tokenizer, "chat_template", None)
    return {"bos_token": bos_token if has_bos else None, "adds_bos": adds,
            "tokenizer": fingerprint,
            "chat_template": _digest(str(template)) if template else None}


def target_tokenizer(target: Any, profile: TargetProfile | None = None) -> Tokenizer | None:
    """The target's own tokenizer as a regurgitate tokenizer (what attacks cut prompts with
    and detectors compare in when a prompt's lengths are meant in the target's tokens), or
    None when the target has none the tool can use (an HTTP API without a local tokenizer).

    Built from :meth:`~regurgitate.targets.base.Target.tokenizer_definition` (a Ray target
    asks its replica 0) and checked against the ``tokenizer`` fingerprint of ``profile``
    (default: the target's): the driver's profile is recorded in the run and a resumed run
    that resolves another one is refused, so every executor and every resume cuts the same
    prompts. A TargetError when the definition is not the one the profile names."""
    from regurgitate.corpus.tokenizer import HFTokenizer
    from regurgitate.errors import TargetError

    profile = profile or target.profile()
    if profile.tokenizer is None:
        return None
    text = target.tokenizer_definition()
    if text is None:
        return None
    tok = HFTokenizer.from_definition(text, name=f"{target.name}'s tokenizer")
    if tok.definition != profile.tokenizer:
        raise TargetError(f"{target.name} gives a tokenizer ({tok.definition}) other than the "
                          f"one its profile records ({profile.tokenizer})",
                          hint="give every node the same model files")
    return tok
