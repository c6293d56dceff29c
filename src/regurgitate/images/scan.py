"""An image scan: the text pipeline's stages with image components, plus the clique pass.

Generation and the per-batch detectors (extracted copies, copy-detection similarity) run in
:func:`regurgitate.run.run_scan`, so an image scan stops, resumes after ``kill -9`` and keeps its
budget exactly like a text scan. The clique detector needs every generation of a prompt at once,
so it runs afterwards, over each prompt whose generations it has not all seen yet (the whole
group is re-detected, so a group completed by a resumed run is judged on all its members).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from regurgitate.attacks.base import Attack
from regurgitate.detectors.base import NO_PRIOR, Detector
from regurgitate.detectors.image_cliques import ImageCliqueDetector
from regurgitate.detectors.image_copy import describe
from regurgitate.images.index import ImageIndex
from regurgitate.run import Budget, Progress, ScanOutcome, run_scan
from regurgitate.store.runstore import IMAGE_INDEX_META, RunStore
from regurgitate.targets.base import Target
from regurgitate.types import Item, RunSpec


def detect_cliques(store: RunStore, detector: ImageCliqueDetector) -> int:
    """Run the clique detector over every prompt group with undetected generations; returns
    the number of findings written."""
    pending = set(store.undetected(detector.name))
    if not pending:
        return 0
    groups: dict[str, list[Item]] = {}
    for it in store.generations():
        groups.setdefault(it.prompt.as_text(), []).append(it)
    written = 0
    for members in groups.values():
        ids = [it.generation_id for it in members]
        if not pending.intersection(ids):
            continue
        findings = detector.detect(members, NO_PRIOR)
        store.add_findings(findings, detector=detector.name, generation_ids=ids)
        written += len(findings)
    return written


def run_image_scan(*, store: RunStore, spec: RunSpec, target: Target, attacks: Sequence[Attack],
                   detectors: Sequence[Detector], index: ImageIndex,
                   clique: ImageCliqueDetector | None, seed: int = 0,
                   batch_size: int | None = None, budget: Budget | None = None,
                   progress: Progress | None = None,
                   should_stop: Callable[[], bool] = lambda: False) -> ScanOutcome:
    """Generate, detect, then find cliques; returns what :func:`run_scan` returns."""
    store.init_run(spec)
    store.set_meta(IMAGE_INDEX_META, describe(index))
    outcome = run_scan(store=store, spec=spec, target=target, attacks=attacks,
                       detectors=detectors, index=cast(Any, index), seed=seed,
                       batch_size=batch_size, budget=budget, progress=progress,
                       should_stop=should_stop)
    if clique is not None:
        detect_cliques(store, clique)
    return outcome
