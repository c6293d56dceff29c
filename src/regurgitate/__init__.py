"""regurgitate: audit generative models for training-data memorization.

The public API is what ``__all__`` lists (pinned by a test). Heavier pieces are imported on
first use so that ``import regurgitate`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from regurgitate.errors import (
    ConfigError,
    CorpusError,
    IndexCorruptError,
    IndexUnavailableError,
    Interrupted,
    MissingDependencyError,
    RegurgitateError,
    StoreError,
    TargetError,
    TokenizerError,
    TokenizerMismatchError,
)
from regurgitate.findings import (
    DiscoverableProbe,
    DivergedOutput,
    Finding,
    MembershipSignals,
    NearVerbatimMatch,
    Payload,
    PIIHit,
    SourcePassage,
    UnknownPayload,
    VerbatimSpan,
)
from regurgitate.types import (
    Document,
    Generation,
    GenerationSettings,
    Item,
    Prompt,
    RunSpec,
    Span,
)
from regurgitate.version import __version__

_LAZY: dict[str, str] = {
    "CorpusIndex": "regurgitate.index",
    "build_index": "regurgitate.index",
    "read_corpus": "regurgitate.corpus.readers",
    "load_tokenizer": "regurgitate.corpus.tokenizer",
    "RunStore": "regurgitate.store",
    "make_target": "regurgitate.targets.spec",
    "make_attack": "regurgitate.registry",
    "run_scan": "regurgitate.scan.pipeline",
    "detect_pending": "regurgitate.scan.pipeline",
    "Budget": "regurgitate.scan.budget",
    "Target": "regurgitate.targets.base",
    "Attack": "regurgitate.attacks.base",
    "AttackContext": "regurgitate.attacks.base",
    "Detector": "regurgitate.detectors.base",
    "DetectorContext": "regurgitate.detectors.base",
    "Prior": "regurgitate.detectors.base",
    "default_detectors": "regurgitate.scan.assembly",
}

__all__ = [
    "Attack",
    "AttackContext",
    "Budget",
    "ConfigError",
    "CorpusError",
    "CorpusIndex",
    "Detector",
    "DetectorContext",
    "DiscoverableProbe",
    "DivergedOutput",
    "Document",
    "Finding",
    "Generation",
    "GenerationSettings",
    "IndexCorruptError",
    "IndexUnavailableError",
    "Interrupted",
    "Item",
    "MembershipSignals",
    "MissingDependencyError",
    "NearVerbatimMatch",
    "PIIHit",
    "Payload",
    "Prior",
    "Prompt",
    "RegurgitateError",
    "RunSpec",
    "RunStore",
    "SourcePassage",
    "Span",
    "StoreError",
    "Target",
    "TargetError",
    "TokenizerError",
    "TokenizerMismatchError",
    "UnknownPayload",
    "VerbatimSpan",
    "__version__",
    "build_index",
    "default_detectors",
    "detect_pending",
    "load_tokenizer",
    "make_attack",
    "make_target",
    "read_corpus",
    "run_scan",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'regurgitate' has no attribute '{name}'")
