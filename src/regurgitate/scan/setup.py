"""Turn what the user asked for (a ScanRequest) into ready components (a PreparedScan).

One setup for text and image scans. The target spec is parsed and its class found through the
registry; the class's ``modality`` decides which attacks, detectors and index the scan may
use (:mod:`regurgitate.scan.assembly`), and a flag or component that does not apply to it is a
ConfigError naming it. This is where defaults live: no target means the bundled reference
model, its corpus (indexed and cached on first use) and attacks tuned to it;
an image target may declare its own defaults on its class (``default_index``,
``attack_options``, ``detector_options``): ``reference-image`` and ``reference-t2i`` bring their
training images (indexed and cached on first use), Carlini settings and clique size.
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
from regurgitate.errors import ConfigError, RegurgitateError
from regurgitate.scan.assembly import build_attacks, check_option_groups, default_detectors
from regurgitate.scan.pipeline import Budget
from regurgitate.targets.base import Target
from regurgitate.types import Modality, RunSpec

if TYPE_CHECKING:
    from regurgitate.images.index import ImageIndex
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
    #: verbatim threshold and sources per span (text scans; None: 50 and 10)
    min_tokens: int | None = None
    max_docs: int | None = None
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
    #: limits that stop the scan cleanly (token and cost limits apply to text scans only)
    budget: Budget = field(default_factory=Budget)


@dataclass
class PreparedScan:
    spec: RunSpec
    target: Target
    attacks: list[Attack]
    #: the reference-corpus index of a text scan
    index: CorpusIndex | None
    run_path: Path
    html_path: Path | None
    resume_command: str
    detectors: list[Detector]
    modality: Modality = "text"
    #: the training-image index of an image scan
    image_index: ImageIndex | None = None
    budget: Budget = field(default_factory=Budget)


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


def check_flags(req: ScanRequest, modality: Modality) -> None:
    """ConfigError naming every flag given that does not apply to the target's modality."""
    if modality == "text":
        return
    text_only = {"--min-tokens": req.min_tokens, "--max-docs": req.max_docs,
                 "--max-tokens": req.budget.max_tokens, "--max-cost": req.budget.max_cost,
                 "--price-per-1k-tokens": req.budget.price_per_1k_tokens}
    given = [flag for flag, value in text_only.items() if value is not None]
    if given:
        raise ConfigError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to text "
                          f"targets only, and {req.target} makes images",
                          hint="image scans count images: limit them with --max-generations")


@dataclass(frozen=True)
class _Defaults:
    """What a target brings when the user leaves it out: an index, attack and detector
    options, the attacks to run."""

    index: Path | str | None
    attack_options: dict[str, dict[str, Any]]
    detector_options: dict[str, dict[str, Any]]
    attacks: str


def _text_defaults(req: ScanRequest, target_cls: type[Target], scheme: str,
                   note: Callable[[str], None]) -> _Defaults:
    # the bundled reference keeps its index and attacks whatever options it is given
    is_reference = scheme == "reference"
    index_path = req.index
    options: dict[str, dict[str, Any]] = {}
    if is_reference:
        if index_path is None:
            index_path = reference_index(cache_dir(req.cache_dir), note)
        options = reference_attack_options()
    attacks = (REFERENCE_ATTACKS if is_reference else ",".join(target_cls.default_attacks)
               or ("divergence,discoverable,corpus-prompts" if index_path else "divergence"))
    return _Defaults(index_path, options, {}, attacks)


def _image_defaults(req: ScanRequest, target_cls: type[Target], location: str,
                    note: Callable[[str], None]) -> _Defaults:
    # a bundled model declares its own index, attack and detector settings on its class
    index_path = req.index
    if index_path is None:
        index_path = target_cls.default_index(location, cache_dir(req.cache_dir), note)
    if index_path is None:
        raise ConfigError("an image scan needs a training-image index",
                          hint="build one with: regurgitate index build-images SRC -o IDX, "
                          "then pass --index IDX")
    return _Defaults(index_path, target_cls.attack_options(location),
                     target_cls.detector_options(location),
                     ",".join(target_cls.default_attacks) or "carlini")


def _spec_settings(req: ScanRequest, modality: Modality, options: dict[str, dict[str, Any]],
                   detector_options: dict[str, dict[str, Any]]) -> dict[str, Any]:
    # stored and compared on resume; must be JSON and never carry secrets
    settings: dict[str, Any] = {"seed": req.seed, "options": options}
    if modality == "text":
        settings = {"min_tokens": req.min_tokens or 50, "max_docs": req.max_docs or 10,
                    **settings}
    if detector_options:
        settings["detectors"] = detector_options
    return cast(dict[str, Any], json.loads(json.dumps(settings, default=list)))


def _open_index(path: Path | str, modality: Modality) -> Any:
    from regurgitate.scan.indexes import open_index

    index = open_index(path)
    if index.modality != modality:
        raise ConfigError(
            f"--index {path} is {'a training-image' if index.modality == 'image' else 'a text'} "
            f"index, and this scan's target makes {'images' if modality == 'image' else 'text'}",
            hint="build a training-image index with: regurgitate index build-images"
            if modality == "image" else "build a corpus index with: regurgitate index build")
    return index


def prepare_scan(req: ScanRequest, note: Callable[[str], None] = lambda m: None) -> PreparedScan:
    from regurgitate.attacks.discoverable import resolve_bos
    from regurgitate.executors import make_executor
    from regurgitate.targets.spec import parse_spec

    if (req.min_tokens is not None and req.min_tokens < 1) or \
            (req.max_docs is not None and req.max_docs < 1):
        raise ConfigError("--min-tokens and --max-docs must be >= 1")
    target_spec = req.target or "reference"
    parsed = parse_spec(target_spec)  # unknown schemes, secrets and bad options fail here
    target_cls = registry.targets().load(parsed.scheme)
    modality = target_cls.modality
    check_flags(req, modality)
    if modality == "image":
        defaults = _image_defaults(req, target_cls, parsed.raw_location, note)
    else:
        defaults = _text_defaults(req, target_cls, parsed.scheme, note)
    options = {k: dict(v) for k, v in defaults.attack_options.items()}
    for comp, opts in req.options.items():
        options.setdefault(comp, {}).update(opts)
    wanted = attack_list(req.attacks or defaults.attacks)
    check_option_groups(req.options, wanted, modality)
    attacks = build_attacks(wanted, options, modality)
    index_path = defaults.index
    index = _open_index(index_path, modality) if index_path is not None else None
    run_path = req.run or DEFAULT_OUT / f"{_slug(target_spec)}.db"
    run_path.parent.mkdir(parents=True, exist_ok=True)
    html_path = None
    if req.write_html:
        html_path = req.html or run_path.with_suffix(".html")
    target = make_executor(req.executor, address=req.ray_address).make_target(
        target_spec, replicas=req.replicas)
    attacks = [resolve_bos(a, target) for a in attacks]  # BOS as the target's documents had
    # the user's --set options; a name that is both an attack of this scan and a detector
    # sets the attack's options
    detector_options = {k: dict(v) for k, v in defaults.detector_options.items()}
    for name, opts in req.options.items():
        if name not in wanted:
            detector_options.setdefault(name, {}).update(opts)
    spec = RunSpec(
        target=target.name, attacks=tuple(a.name for a in attacks),
        index=str(index_path) if index_path else None,
        settings=_spec_settings(req, modality, {a: o for a, o in options.items()
                                                if a in {x.name for x in attacks}},
                                detector_options if modality == "image" else {}),
        tool_version=__version__, modality=modality,
    )
    resume = resume_command(req.command, req.run, run_path)
    text_index = index if modality == "text" else None
    image_index = index if modality == "image" else None
    detectors = default_detectors(
        DetectorContext(index=text_index, min_tokens=req.min_tokens or 50,
                        max_docs=req.max_docs or 10, target=target, image_index=image_index,
                        modality=modality),
        detector_options)
    return PreparedScan(spec=spec, target=target, attacks=attacks, index=text_index,
                        run_path=run_path, html_path=html_path, resume_command=resume,
                        detectors=detectors, modality=modality, image_index=image_index,
                        budget=req.budget)
