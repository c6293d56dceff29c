"""Turn what the user asked for (a ScanRequest) into ready components (a PreparedScan).

One setup for text and image scans. The target spec is parsed and its class found through the
registry; the class's ``modality`` decides which attacks, detectors and index the scan may
use (:mod:`regurgitate.scan.assembly`), and a flag or component that does not apply to it is a
ConfigError naming it. No target means the bundled
reference model. Every target declares its defaults on its class (``default_index``,
``default_attacks``, ``attack_options``, ``detector_options``): ``reference`` brings its corpus
(indexed and cached on first use) and attacks tuned to it, ``reference-image`` and
``reference-t2i`` their training images, Carlini settings and clique size. Options are taken
in this order (:func:`merge_options`): what the user set explicitly, then the preset the user
named, then the target's defaults.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from regurgitate import registry
from regurgitate.detectors.base import DetectorContext
from regurgitate.errors import ConfigError
from regurgitate.index.open import names_reference, open_index
from regurgitate.scan.assembly import (
    build_attacks,
    check_option_groups,
    default_attack_names,
    default_detectors,
)
from regurgitate.scan.request import DEFAULT_OUT, PreparedScan, ScanRequest, cache_dir
from regurgitate.scan.run_names import scan_run_name
from regurgitate.targets.base import Target
from regurgitate.targets.reference import reference_index
from regurgitate.types import Modality, RunSpec
from regurgitate.version import __version__

if TYPE_CHECKING:
    from regurgitate.targets.profile import TargetProfile

def resume_command(command: Sequence[str], run: Path | None, run_path: Path) -> str:
    """The command line that resumes a scan: the user's own (as the CLI received it), with
    ``--run`` added when the run file was the default one."""
    args = list(command)
    resume = "regurgitate " + shlex.join(args if args[:1] == ["scan"] else ["scan", *args[1:]])
    if run is None and "--run" not in resume:
        resume += f" --run {shlex.quote(str(run_path))}"
    return resume


def attack_list(names: str) -> list[str]:
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not wanted:
        raise ConfigError("no attack given", hint="e.g. --attack divergence,discoverable")
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


def _target_defaults(req: ScanRequest, target_cls: type[Target], location: str,
                     note: Callable[[str], None]) -> _Defaults:
    # every target declares its own defaults on its class (the bundled references bring their
    # index, attacks and settings); the user's --index and --attack replace them
    index_path = req.index
    cache = cache_dir(req.cache_dir)
    if names_reference(index_path) and target_cls.modality == "text":
        # --index reference: the bundled reference corpus, for any text target
        index_path = reference_index(cache, note)
    elif index_path is None or names_reference(index_path):
        index_path = target_cls.default_index(location, cache, note)
    if index_path is None and target_cls.modality == "image":
        raise ConfigError("an image scan needs a training-image index",
                          hint="build one with: regurgitate index build-images SRC -o IDX, "
                          "then pass --index IDX")
    # the attacks that declare they run by default (Attack.default_order), those that need
    # an index only with one
    fallback = default_attack_names(target_cls.modality, has_index=index_path is not None)
    return _Defaults(index_path, target_cls.attack_options(location),
                     target_cls.detector_options(location),
                     ",".join(target_cls.default_attacks or fallback))


def merge_options(defaults: dict[str, dict[str, Any]], explicit: dict[str, dict[str, Any]],
                  preset_keys: Callable[[str, str], frozenset[str]]) -> dict[str, dict[str, Any]]:
    """Each component's options, in this order of precedence: the user's explicit options,
    then the preset the user named (``preset_keys(component, preset)``: the options it sets),
    then the target's defaults. A target default that the named preset also sets is dropped,
    so ``--set divergence.preset=nasr2023`` runs the preset's own words and samples."""
    merged: dict[str, dict[str, Any]] = {}
    for comp in [*defaults, *(c for c in explicit if c not in defaults)]:
        base = dict(defaults.get(comp, {}))
        given = explicit.get(comp, {})
        if given.get("preset") is not None:
            for key in preset_keys(comp, str(given["preset"])):
                base.pop(key, None)
        merged[comp] = {**base, **given}
    return merged


def _attack_preset_keys(wanted: Sequence[str]) -> Callable[[str, str], frozenset[str]]:
    def keys(component: str, preset: str) -> frozenset[str]:
        if component not in wanted:
            return frozenset()
        return registry.attacks().load(component).preset_options(preset)
    return keys


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


def stored_profile(run_path: Path) -> TargetProfile | None:
    """The target profile an earlier start of this run recorded (None: a new run)."""
    from regurgitate.store import RunStore
    from regurgitate.targets.profile import PROFILE_META, TargetProfile

    if not run_path.is_file():
        return None
    with RunStore.open(run_path, create=False) as store:
        return TargetProfile.from_dict(store.get_meta(PROFILE_META))


def prepare_scan(req: ScanRequest, note: Callable[[str], None] = lambda m: None) -> PreparedScan:
    from regurgitate.attacks.discoverable import resolve_bos
    from regurgitate.executors import make_executor
    from regurgitate.runtimes.devices import torch_threads
    from regurgitate.targets.spec import parse_spec

    if (req.min_tokens is not None and req.min_tokens < 1) or \
            (req.max_docs is not None and req.max_docs < 1):
        raise ConfigError("--min-tokens and --max-docs must be >= 1")
    target_spec = req.target or "reference"
    parsed = parse_spec(target_spec)  # unknown schemes, secrets and bad options fail here
    target_cls = registry.targets().load(parsed.scheme)
    modality = target_cls.modality
    check_flags(req, modality)
    defaults = _target_defaults(req, target_cls, parsed.raw_location, note)
    wanted = attack_list(req.attacks or defaults.attacks)
    options = merge_options(defaults.attack_options, req.options, _attack_preset_keys(wanted))
    check_option_groups(req.options, wanted, modality)
    attacks = build_attacks(wanted, options, modality)
    index_path = defaults.index
    index: Any = None if index_path is None else open_index(
        index_path, modality=modality,
        why=f"this scan's target makes {'images' if modality == 'image' else 'text'}")
    run_path = req.run or DEFAULT_OUT / scan_run_name(target_spec, req.attacks, req.index)
    run_path.parent.mkdir(parents=True, exist_ok=True)
    html_path = None
    if req.write_html:
        html_path = req.html or run_path.with_suffix(".html")
    # what prompts depend on is resolved once, here, from the target built from its spec
    # (wherever it runs) and recorded in the run; a resumed run computes with its threads
    stored = stored_profile(run_path)
    threads = stored.threads if stored is not None and stored.threads else None
    if threads is None and req.executor != "local":
        threads = torch_threads()  # replicas compute as this process would
    target = make_executor(req.executor, address=req.ray_address).make_target(
        target_spec, replicas=req.replicas, threads=threads)
    profile = target.profile()  # recorded by run_scan, which refuses a resume it changes
    attacks = [resolve_bos(a, profile) for a in attacks]  # BOS as the target's documents had
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
        detector_options, names=req.detectors, exclude=req.no_detectors)
    return PreparedScan(spec=spec, target=target, attacks=attacks, index=text_index,
                        run_path=run_path, html_path=html_path, resume_command=resume,
                        detectors=detectors, modality=modality, image_index=image_index,
                        budget=req.budget)
