"""The public API is curated: __all__ is pinned, and every name in it resolves."""

from __future__ import annotations

import regurgitate
from regurgitate import errors

EXPECTED = {
    # records, errors
    "Budget", "ConfigError", "CorpusError", "CorpusIndex", "Document", "Finding", "Generation",
    "GenerationSettings", "IndexCorruptError", "Interrupted", "Item", "MissingDependencyError",
    "Prompt", "RegurgitateError", "RunSpec", "RunStore", "Span", "StoreError", "TargetError",
    "TokenizerError", "TokenizerMismatchError", "__version__",
    # the base classes components extend
    "Attack", "AttackContext", "Detector", "DetectorContext", "Prior", "Target",
    # finding payloads
    "Payload", "VerbatimSpan", "SourcePassage", "NearVerbatimMatch", "DiscoverableProbe",
    "DivergedOutput", "PIIHit", "MembershipSignals", "UnknownPayload",
    # building and running a scan
    "build_index", "load_tokenizer", "make_attack", "make_target", "read_corpus",
    "default_detectors", "run_scan", "detect_pending",
}


def test_all_is_pinned_and_resolves() -> None:
    assert set(regurgitate.__all__) == EXPECTED
    for name in regurgitate.__all__:
        assert getattr(regurgitate, name) is not None
    assert issubclass(regurgitate.VerbatimSpan, regurgitate.Payload)
    for base in (regurgitate.Target, regurgitate.Attack, regurgitate.Detector):
        assert getattr(base, "__abstractmethods__", None)


def test_every_error_has_an_exit_code_and_derives_from_the_base() -> None:
    for name in ("ConfigError", "MissingDependencyError", "CorpusError", "TokenizerError",
                 "TokenizerMismatchError", "IndexCorruptError", "TargetError", "StoreError"):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.RegurgitateError)
        assert cls.exit_code in (2, 3, 4, 5, 6)
    err = errors.CorpusError("bad JSON", path="a.jsonl", line=7, hint="use --on-error skip")
    assert str(err) == "a.jsonl:7: bad JSON (use --on-error skip)"
    dep = errors.MissingDependencyError("vllm", "vllm", "the vLLM target")
    assert "pip install 'regurgitate[vllm]'" in str(dep)
