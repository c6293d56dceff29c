"""The public API is curated: __all__ is pinned, and every name in it resolves."""

from __future__ import annotations

import regurgitate
from regurgitate import errors

EXPECTED = {
    # records, errors
    "Budget", "ConfigError", "CorpusError", "CorpusIndex", "Document", "Finding", "Generation",
    "GenerationSettings", "IndexCorruptError", "IndexUnavailableError", "Interrupted", "Item",
    "MissingDependencyError", "Prompt", "RegurgitateError", "RunSpec", "RunStore", "Span",
    "StoreError", "TargetError",
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
                 "TokenizerMismatchError", "IndexCorruptError", "IndexUnavailableError",
                 "RemoteIndexError", "IndexLimitError", "TargetError", "StoreError"):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.RegurgitateError)
        assert cls.exit_code in (2, 3, 4, 5, 6, 8)
    err = errors.CorpusError("bad JSON", path="a.jsonl", line=7, hint="use --on-error skip")
    assert str(err) == "a.jsonl:7: bad JSON (use --on-error skip)"
    dep = errors.MissingDependencyError("vllm", "vllm", "the vLLM target")
    assert "pip install 'regurgitate[vllm]'" in str(dep)


def test_every_exception_class_lives_in_errors_py() -> None:
    # one error tree, drawn in errors.py's docstring: no module defines its own exception
    import ast
    from pathlib import Path

    src = Path(regurgitate.__file__).parent
    names = {n for n in dir(errors) if isinstance(getattr(errors, n), type)
             and issubclass(getattr(errors, n), BaseException)}
    elsewhere = []
    for path in src.rglob("*.py"):
        if path.name == "errors.py" and path.parent == src:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                    (b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")) in
                    names | {"Exception", "BaseException", "ValueError", "RuntimeError"}
                    for b in node.bases):
                elsewhere.append(f"{path.relative_to(src)}:{node.name}")
    assert not elsewhere, f"exceptions outside errors.py: {elsewhere}"
