"""Turn what the user asked for (a ScanRequest) into ready components (a PreparedScan).

This is where defaults live: no target means the bundled reference model, its corpus
(indexed and cached on first use) and attacks tuned to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from regurgitate import __version__, registry
from regurgitate.attacks.base import Attack
from regurgitate.detectors.base import Detector, DetectorContext
from regurgitate.detectors.defaults import default_detectors
from regurgitate.errors import ConfigError, RegurgitateError
from regurgitate.registry import make_attack
from regurgitate.targets.base import Target
from regurgitate.types import RunSpec

if TYPE_CHECKING:
    from regurgitate.index.query import CorpusIndex

DEFAULT_OUT = Path("regurgitate-out")
REFERENCE_ATTACKS = "discoverable,divergence,corpus-prompts,sample-rank"


@dataclass(frozen=True)
class ScanRequest:
    target: str | None = None
    attacks: str | None = None
    index: Path | str | None = None  # a directory or an http(s) index URL
    run: Path | None = None
    options: dict[str, dict[str, str]] = field(default_factory=dict)
    min_tokens: int = 50
    max_docs: int = 10
    seed: int = 0
    html: Path | None = None
    #: write an HTML report at all (a default path is chosen when ``html`` is None)
    write_html: bool = True
    cache_dir: Path | None = None
    #: where generation runs: "local" or "ray" (replicas on a Ray cluster)
    executor: str = "local"
    ray_address: str | None = None
    replicas: int | None = None
    #: the command line that asked for the scan, after the program name (``["scan", ...]``);
    #: repeated in the "resume with" hints
    command: tuple[str, ...] = ("scan",)


@dataclass
class PreparedScan:
    spec: RunSpec
    target: Target
    attacks: list[Attack]
    index: CorpusIndex | None
    run_path: Path
    html_path: Path | None
    resume_command: str
    detectors: list[Detector]


def resume_command(command: Sequence[str], run: Path | None, run_path: Path) -> str:
    """The command line that resumes a scan: the user's own (as the CLI received it), with
    ``--run`` added when the run file was the default one."""
    args = list(command)
    resume = "regurgitate " + shlex.join(args if args[:1] == ["scan"] else ["scan", *args[1:]])
    if run is None and "--run" not in resume:
        resume += f" --run {shlex.quote(str(run_path))}"
    return resume


def cache_dir(explicit: Path | None = None) -> Path:
    """Where cached artefacts (the reference index) live: REGURGITATE_CACHE or ~/.cache."""
    if explicit is not None:
        return explicit
    env = os.environ.get("REGURGITATE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "regurgitate"


def reference_index(cache: Path, note: Callable[[str], None]) -> Path:
    """The index of the bundled reference corpus, built once and cached by content hash."""
    from regurgitate import reference
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index import CorpusIndex, build_index

    tok = load_tokenizer(reference.model_dir())
    digest = hashlib.sha256(reference.corpus_path().read_bytes()).hexdigest()[:12]
    path = cache / f"reference-index-{digest}-{tok.fingerprint.split(':')[-1][:8]}"
    if (path / "manifest.json").is_file():
        try:
            CorpusIndex.open(path)
            return path
        except RegurgitateError:  # a damaged cache is rebuilt, never trusted
            note(f"cached reference index at {path} is damaged; rebuilding it")
    note(f"indexing the bundled reference corpus into {path} (first run only)")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        import shutil

        shutil.rmtree(path)
    build_index(reference.iter_corpus(), path, tok)
    return path


def reference_attack_options() -> dict[str, dict[str, Any]]:
    """Attack settings tuned to the reference model: probe every planted item."""
    from regurgitate import reference

    manifest = reference.load_manifest()
    passages = tuple((item.id, item.text) for item in manifest.items)
    return {
        "discoverable": {"passages": passages, "prefix_tokens": 32, "suffix_tokens": 50,
                         "extra_tokens": 14},
        # the paper's protocol (chat prompts, repetition penalty, outputs to the end of the
        # context, same-run baseline) on four of its words, one sample each
        "divergence": {"preset": "nasr2023", "words": ("the", "word", "one", "time"),
                       "samples": 1},
        "corpus-prompts": {"num_prompts": 16, "max_new_tokens": 128},
        "sample-rank": {"num_samples": 16, "max_new_tokens": 128},
    }


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "run"


def attack_list(names: str) -> list[str]:
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not wanted:
        raise ConfigError("no attack given", hint=f"e.g. --attack {REFERENCE_ATTACKS}")
    return wanted


def check_option_groups(user_options: dict[str, dict[str, str]], attacks: list[str],
                        detectors: list[str]) -> None:
    """Options the user gave with --set must name an attack of this scan or a detector."""
    unknown = set(user_options) - set(attacks) - set(detectors)
    if unknown:
        raise ConfigError(f"--set names a component that is not in this scan: "
                          f"{', '.join(sorted(unknown))}",
                          hint=f"attacks here: {', '.join(attacks)}; detectors: "
                          f"{', '.join(sorted(detectors))}")
    _check_attack_options_for_detector(user_options, attacks)


def _check_attack_options_for_detector(user_options: dict[str, dict[str, str]],
                                       attacks: list[str]) -> None:
    """``--set discoverable.preset=pythia`` without ``--attack discoverable`` goes to the
    detector of the same name; when that detector has no such option, the user meant the
    attack: say it is not among this scan's attacks and how to add it."""
    from regurgitate.option_docs import option_names

    attack_names = registry.attacks().names()
    for comp, opts in user_options.items():
        if comp in attacks or comp not in attack_names:
            continue
        known = option_names(registry.detectors().load(comp))
        stray = sorted(set(opts) - known)
        if stray:
            raise ConfigError(
                f"--set {comp}.{stray[0]}: {comp!r} is not among this scan's attacks "
                f"({', '.join(attacks)}), and the {comp} detector has no option {stray[0]!r}",
                hint=f"add the attack with --attack {','.join([*attacks, comp])}")


def build_attacks(names: list[str], options: dict[str, dict[str, Any]]) -> list[Attack]:
    return [make_attack(n, options.get(n, {})) for n in names]


def _spec_settings(req: ScanRequest, options: dict[str, dict[str, Any]]) -> dict[str, Any]:
    # stored and compared on resume; must be JSON and never carry secrets
    return cast(dict[str, Any], json.loads(json.dumps({
        "min_tokens": req.min_tokens, "max_docs": req.max_docs, "seed": req.seed,
        "options": options,
    }, default=list)))


def prepare_scan(req: ScanRequest, note: Callable[[str], None] = lambda m: None) -> PreparedScan:
    from regurgitate.executors import make_executor
    from regurgitate.index.remote import open_index

    if req.min_tokens < 1 or req.max_docs < 1:
        raise ConfigError("--min-tokens and --max-docs must be >= 1")
    from regurgitate.targets.spec import parse_spec

    # the bundled reference keeps its index and attacks whatever options it is given
    is_reference = req.target is None or parse_spec(req.target).scheme == "reference"
    target_spec = req.target or "reference"
    index_path = req.index
    options: dict[str, dict[str, Any]] = {}
    if is_reference:
        if index_path is None:
            index_path = reference_index(cache_dir(req.cache_dir), note)
        options = reference_attack_options()
    for comp, opts in req.options.items():
        options.setdefault(comp, {}).update(opts)
    attack_names = req.attacks or (REFERENCE_ATTACKS if is_reference else
                                   ("divergence,discoverable,corpus-prompts" if index_path
                                    else "divergence"))
    wanted = attack_list(attack_names)
    detector_names = registry.detectors().names()
    check_option_groups(req.options, wanted, detector_names)
    attacks = build_attacks(wanted, options)
    index = open_index(index_path) if index_path is not None else None
    run_path = req.run or DEFAULT_OUT / f"{_slug(target_spec)}.db"
    run_path.parent.mkdir(parents=True, exist_ok=True)
    html_path = None
    if req.write_html:
        html_path = req.html or run_path.with_suffix(".html")
    target = make_executor(req.executor, address=req.ray_address).make_target(
        target_spec, replicas=req.replicas)
    from regurgitate.attacks.discoverable import resolve_bos

    attacks = [resolve_bos(a, target) for a in attacks]  # BOS as the target's documents had
    spec = RunSpec(
        target=target.name, attacks=tuple(a.name for a in attacks),
        index=str(index_path) if index_path else None,
        settings=_spec_settings(req, {a: o for a, o in options.items()
                                      if a in {x.name for x in attacks}}),
        tool_version=__version__,
    )
    resume = resume_command(req.command, req.run, run_path)

    detectors = default_detectors(
        DetectorContext(index=index, min_tokens=req.min_tokens, max_docs=req.max_docs,
                        target=target),
        # the user's --set options; a name that is both an attack of this scan and a detector
        # sets the attack's options
        {name: opts for name, opts in req.options.items()
         if name in detector_names and name not in wanted})
    return PreparedScan(spec=spec, target=target, attacks=attacks, index=index,
                        run_path=run_path, html_path=html_path, resume_command=resume,
                        detectors=detectors)
