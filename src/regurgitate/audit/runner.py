"""Set up an audit on the scan pipeline: the same request, targets, index, run store and
budgets as ``scan``, with the audit's windows as the one attack and the discoverable detector
as the one detector (its findings are per window: exact p or hit, greedy match).

Nothing here runs the stages: :func:`regurgitate.scan.pipeline.run_scan` does, as for a scan.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regurgitate.audit.characters import CONTROL_TITLES, CharacterPromptsAttack
from regurgitate.audit.detector import AuditWindowDetector
from regurgitate.audit.longform import LongformSettings
from regurgitate.audit.windows import (
    ATTACK,
    PREFIX_TOKENS,
    STRIDE,
    SUFFIX_TOKENS,
    TEMPERATURE,
    TOP_K,
    AuditWindowsAttack,
)
from regurgitate.audit.works import Work, load_works, works_digest
from regurgitate.corpus.tokenizer import Tokenizer, load_tokenizer
from regurgitate.detectors.base import DetectorContext
from regurgitate.detectors.discoverable import DiscoverableDetector
from regurgitate.errors import ConfigError, RegurgitateError
from regurgitate.scan.budget import Budget
from regurgitate.scan.request import DEFAULT_OUT, PreparedScan, ScanRequest
from regurgitate.scan.run_names import audit_run_name
from regurgitate.scan.setup import prepare_scan
from regurgitate.targets.base import Target


@dataclass(frozen=True)
class AuditRequest:
    works: Path
    target: str | None = None
    index: Path | str | None = None
    run: Path | None = None
    #: the tokenizer windows are cut with (default: the target's own, else the index's)
    tokenizer: str | None = None
    prefix_tokens: int = PREFIX_TOKENS
    suffix_tokens: int = SUFFIX_TOKENS
    stride: int = STRIDE
    #: sampled continuations per window; None: 0 for local models, ``api_samples`` otherwise
    samples: int | None = None
    api_samples: int = 20
    temperature: float = TEMPERATURE
    top_k: int = TOP_K
    top_p: float = 1.0
    max_windows: int | None = None
    bos: str = "auto"
    #: local models: store each window's full greedy continuation too
    generate: bool = False
    #: slide windows at all (False: only long-form recall and/or character copying)
    windows: bool = True
    #: character copying: free-form generations per title (0: off) and the control titles
    character_samples: int = 0
    control_titles: tuple[str, ...] = CONTROL_TITLES
    #: long-form "continue" loop (Ahmed, Cooper et al. 2026); None: off
    longform: LongformSettings | None = None
    seed: int = 0
    cache_dir: Path | None = None
    command: tuple[str, ...] = ("audit",)
    budget: Budget = field(default_factory=Budget)


@dataclass
class PreparedAudit:
    scan: PreparedScan
    works: list[Work]
    attack: AuditWindowsAttack
    #: True: exact p from the target's own model; False: hits / n from samples
    exact: bool


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "run"


def target_tokenizer(target: Target) -> Tokenizer | None:
    """The regurgitate tokenizer of a target's model (its :meth:`Target.token_counter` when
    that is one, else the tokenizer.json its Hugging Face tokenizer was loaded from), or None."""
    tok: Any = target.token_counter()
    if isinstance(tok, Tokenizer):
        return tok
    where = getattr(tok, "name_or_path", None)
    if not where:
        return None
    path = Path(str(where))
    if not (path / "tokenizer.json").is_file() and not path.is_file():
        return None
    try:
        return load_tokenizer(path)
    except RegurgitateError:
        return None


def resume_command(command: Sequence[str], run: Path | None, run_path: Path) -> str:
    resume = "regurgitate " + shlex.join(list(command))
    if run is None and "--run" not in command:
        resume += f" --run {shlex.quote(str(run_path))}"
    return resume


def prepare_audit(req: AuditRequest, note: Callable[[str], None] = lambda m: None
                  ) -> PreparedAudit:
    works = load_works(req.works)
    if req.stride < 1 or req.prefix_tokens < 1 or req.suffix_tokens < 1:
        raise ConfigError("--stride, --prefix-tokens and --suffix-tokens must be >= 1")
    if req.samples is not None and req.samples < 0:
        raise ConfigError("--samples must be >= 0")
    run_path = req.run or DEFAULT_OUT / audit_run_name(req.target or "reference", req.works,
                                                       req.index)
    options: dict[str, Any] = {
        "works": str(req.works), "prefix_tokens": req.prefix_tokens,
        "suffix_tokens": req.suffix_tokens, "stride": req.stride,
        "np_temperature": req.temperature, "np_top_k": req.top_k, "np_top_p": req.top_p,
        "max_windows": req.max_windows, "bos": req.bos, "tokenizer": req.tokenizer}
    scan = prepare_scan(ScanRequest(
        target=req.target, attacks=ATTACK, index=req.index, run=run_path,
        options={ATTACK: options}, seed=req.seed, write_html=False, cache_dir=req.cache_dir,
        command=tuple(req.command), budget=req.budget), note=note)
    target = scan.target
    exact = target.suffix_scorer() is not None  # the target's own scorer gives p exactly
    samples = req.samples if req.samples is not None else (0 if exact else req.api_samples)
    if samples == 0 and not exact:
        raise ConfigError(f"the target {target.name} gives no log-probabilities to compute p",
                          hint="sample instead: --samples 20")
    tok = None if req.tokenizer else target_tokenizer(target)
    attack = scan.attacks[0]
    if not isinstance(attack, AuditWindowsAttack):  # pragma: no cover - registry mix-up
        raise ConfigError("the 'audit' attack is not the audit's windows")
    attack = dataclasses.replace(attack, works=tuple(works), samples=samples,
                                 window_tokenizer=tok, generate=req.generate,
                                 windows=req.windows)
    scan.attacks = [attack]
    if req.character_samples:
        scan.attacks.append(CharacterPromptsAttack(
            works=tuple(works), controls=req.control_titles, samples=req.character_samples))
    # the spec pins what the windows are: another set of works or scheme refuses to resume
    settings = dict(scan.spec.settings)
    cut_with = tok or (scan.index.tokenizer if scan.index is not None else None)
    settings["audit"] = {"works_digest": works_digest(works), "samples": samples,
                         "generate": req.generate, "windows": req.windows,
                         "characters": {"samples": req.character_samples,
                                        "controls": list(req.control_titles)},
                         "longform": dataclasses.asdict(req.longform) if req.longform else None,
                         "tokenizer": cut_with.fingerprint if cut_with else req.tokenizer}
    scan.spec = dataclasses.replace(scan.spec, settings=settings,
                                    attacks=tuple(a.name for a in scan.attacks))
    ctx = DetectorContext(index=scan.index, target=target, modality="text")
    window_detector = AuditWindowDetector.create(ctx, {}) if samples == 0 else None
    scan.detectors = [window_detector] if window_detector is not None else \
        [DiscoverableDetector.create(ctx, {})]
    scan.resume_command = resume_command(req.command, req.run, run_path)
    return PreparedAudit(scan=scan, works=works, attack=attack, exact=exact and samples == 0)
