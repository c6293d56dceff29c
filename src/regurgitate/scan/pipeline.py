"""The scan pipeline: the only module that knows the order of the stages.

attacks -> prompts (stored) -> target.generate (batched) -> generations (stored, one
transaction a batch) -> detectors (each batch, then anything left undetected; ordered by what
each ``requires``, earlier findings passed in) -> group detectors (each prompt's generations
together, once all of them are stored) -> findings.

Text and image scans run through this same loop: only the components (chosen by the target's
modality in :mod:`regurgitate.scan.setup`) differ. The generation step of the loop
(:class:`GenerationStage`: budget, stop request, storing) is shared with the audit's long-form
turns, which are built one reply at a time (:mod:`regurgitate.audit.longform`).

Resuming is a property of the store, not of this loop: prompts are idempotent by id, a
prompt with a stored successful generation is never sent again, and every detector records
which generations it has processed in the same transaction as its findings. A group
detector (``Detector.groups``) is called with every generation of one prompt text when none of
that prompt's generations is still pending, so a group completed by a resumed run is judged on
all its members, in that run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from regurgitate.attacks.base import Attack, AttackContext
from regurgitate.detectors.base import Detector, Prior, order_detectors
from regurgitate.errors import ConfigError, TargetError
from regurgitate.findings import Finding, VerbatimSpan
from regurgitate.scan.budget import Budget, generation_order
from regurgitate.scan.tokens import count_tokens, token_counter_for
from regurgitate.store.rows import now
from regurgitate.store.runstore import IMAGE_INDEX_META
from regurgitate.targets.base import Target
from regurgitate.types import Generation, Prompt, RunSpec, TokenCounter

#: run meta key of what a remote target learned about its endpoint (Target.endpoint_notes)
ENDPOINT_META = "endpoint"

if TYPE_CHECKING:
    from regurgitate.images.index import ImageIndex
    from regurgitate.index.query import CorpusIndex
    from regurgitate.store import RunStore


class Progress(Protocol):
    """What the pipeline reports while it works (the CLI draws it; tests may record it)."""

    def start(self, total: int, done: int) -> None: ...
    def advance(self, generations: int, tokens: int, spans: int) -> None: ...
    def note(self, message: str) -> None: ...


class _Silent:
    def start(self, total: int, done: int) -> None:
        pass

    def advance(self, generations: int, tokens: int, spans: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass
class ScanOutcome:
    prompts: int = 0
    generated: int = 0
    failed: int = 0
    tokens: int = 0
    spans: int = 0
    pending: int = 0
    stopped: str | None = None
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)


@dataclass
class GenerationStage:
    """The generation stage, the one every loop of prompts runs through (a scan's planned
    batches, an audit's long-form turns, which are built one reply at a time): before each
    batch the budget and Ctrl-C (``should_stop``) are checked, a batch is cut to what the
    budget leaves, its generations are stored in one transaction, what the endpoint learned is
    recorded, and ``outcome`` counts what was generated. Budgets count the generations and
    tokens already in the store (``done_*``, a resumed run's) with this start's."""

    store: RunStore
    target: Target
    budget: Budget
    should_stop: Callable[[], bool]
    outcome: ScanOutcome
    done_gens: int = 0
    done_tokens: int = 0
    #: counts the tokens of a text-only target's generations (:mod:`regurgitate.scan.tokens`)
    counter: TokenCounter | None = None

    @classmethod
    def over(cls, store: RunStore, target: Target, budget: Budget | None = None,
             should_stop: Callable[[], bool] = lambda: False,
             outcome: ScanOutcome | None = None,
             index_tokenizer: TokenCounter | None = None) -> GenerationStage:
        """A stage that counts what ``store`` already holds against ``budget``; a text-only
        target's tokens are counted by its own counter, else ``index_tokenizer``."""
        stats = store.stats()
        return cls(store, target, budget or Budget(), should_stop, outcome or ScanOutcome(),
                   stats.generations_ok, stats.tokens_generated,
                   token_counter_for(target, index_tokenizer))

    def stop_reason(self) -> str | None:
        """Why no further batch may start (a budget reached, "interrupted"), or None."""
        reason = self.budget.exceeded(self.done_gens + self.outcome.generated,
                                      self.done_tokens + self.outcome.tokens)
        if reason is None and self.should_stop():
            reason = "interrupted"
        return reason

    def room(self, size: int) -> int:
        """How many of ``size`` prompts the next batch may hold under the budget."""
        if self.budget.max_generations is None:
            return size
        return min(size, self.budget.max_generations - self.done_gens - self.outcome.generated)

    def generate(self, batch: Sequence[Prompt]) -> list[Generation]:
        """Generate and store one batch (its prompts already stored); returns its
        generations, failed ones included."""
        target = self.target
        gens = target.generate(list(batch))
        if len(gens) != len(batch):
            raise TargetError(f"target {target.name} ({type(target).__module__}."
                              f"{type(target).__qualname__}) returned {len(gens)} generations "
                              f"for {len(batch)} prompts")
        gens = count_tokens(gens, self.counter, target=target, budget=self.budget)
        self.store.add_generations(gens)
        notes = target.endpoint_notes()
        if notes:  # what the endpoint accepted, refused, cut; whether it samples
            self.store.set_meta(ENDPOINT_META, notes)
        ok = [g for g in gens if g.ok]
        self.outcome.generated += len(ok)
        self.outcome.failed += len(gens) - len(ok)
        self.outcome.errors.extend(f"{g.prompt_id}: {g.error}" for g in gens if not g.ok)
        # budgets count generated tokens (prompt tokens are the attack's, not the model's)
        self.outcome.tokens += sum(g.generated_tokens for g in ok)
        return gens


def plan_prompts(attacks: Sequence[Attack], ctx: AttackContext) -> list[Prompt]:
    """All prompts of all attacks; ids must be unique across attacks."""
    prompts: list[Prompt] = []
    for attack in attacks:
        prompts.extend(attack.prompts(ctx))
    seen: set[str] = set()
    for p in prompts:
        if p.id in seen:
            raise ConfigError(f"two prompts share the id '{p.id}'",
                              hint="give each attack a distinct name")
        seen.add(p.id)
    return prompts


def detect_pending(store: RunStore, detectors: Sequence[Detector], *,
                   batch_size: int = 64) -> list[Finding]:
    """Run every detector over the generations it has not processed yet; returns the
    findings written.

    Detectors run in the order their ``requires`` give (ConfigError on a cycle or a missing
    one). Generations are read a batch at a time with one query; each detector receives the
    findings of the detectors it requires for the same generations: those found in this batch
    or, for generations they processed in an earlier run, those stored.
    """
    order = [det for det in order_detectors(detectors) if not det.groups]
    pending = {det.name: set(store.undetected(det.name)) for det in order}
    needed = sorted({r for det in order for r in det.requires})
    all_ids = sorted(set().union(*pending.values())) if pending else []
    written: list[Finding] = []
    for k in range(0, len(all_ids), batch_size):
        chunk = all_ids[k:k + batch_size]
        items = {it.generation_id: it for it in store.items(chunk)}
        known: dict[str, dict[int, list[Finding]]] = {name: {} for name in needed}
        for f in store.findings(generation_ids=chunk, detectors=needed):
            known[f.detector].setdefault(f.generation_id, []).append(f)
        for det in order:
            ids = [i for i in chunk if i in pending[det.name]]
            if not ids:
                continue
            prior = Prior({r: {i: tuple(known[r].get(i, ())) for i in ids}
                           for r in det.requires})
            findings = det.detect([items[i] for i in ids], prior)
            store.add_findings(findings, detector=det.name, generation_ids=ids)
            written.extend(findings)
            if det.name in known:  # fresh findings replace any stored for these ids
                for i in ids:
                    known[det.name][i] = []
                for f in findings:
                    known[det.name][f.generation_id].append(f)
    return written


def detect_groups(store: RunStore, detectors: Sequence[Detector]) -> list[Finding]:
    """Run every group detector over each complete prompt group (every prompt of that text has
    a successful generation) with a generation it has not processed; returns the findings
    written. The whole group is judged again, so its findings replace any stored for it."""
    order = [det for det in order_detectors(detectors) if det.groups]
    if not order:
        return []
    groups, incomplete = store.prompt_groups()
    written: list[Finding] = []
    for det in order:
        undone = set(store.undetected(det.name))
        for key, ids in groups.items():
            if key in incomplete or undone.isdisjoint(ids):
                continue
            prior = Prior.of(store.findings(generation_ids=ids, detectors=list(det.requires))) \
                if det.requires else Prior()
            findings = det.detect(store.items(ids), prior)
            store.add_findings(findings, detector=det.name, generation_ids=ids)
            written.extend(findings)
    return written


def _check_groups(detectors: Sequence[Detector]) -> None:
    by_name = {d.name: d for d in detectors}
    for det in detectors:
        late = [r for r in det.requires if r in by_name and by_name[r].groups and not det.groups]
        if late:
            raise ConfigError(f"detector {det.name!r} judges batches but requires the group "
                              f"detector(s) {', '.join(map(repr, late))}, which run later")


def detect_all(store: RunStore, detectors: Sequence[Detector]) -> list[Finding]:
    """The batch detectors over what they have not processed, then the group detectors."""
    return detect_pending(store, detectors) + detect_groups(store, detectors)


def not_computed(detectors: Sequence[Detector]) -> list[tuple[str, str]]:
    """``(figure, reason)`` of every figure the scan's detectors cannot compute here."""
    return [x for det in detectors for x in det.not_computed()]


#: run meta key of what the attacks state about how they built their prompts (Attack.notes)
ATTACK_NOTES_META = "attack_notes"


def record_attack_notes(store: RunStore, attacks: Sequence[Attack], ctx: AttackContext,
                        prompts: Sequence[Prompt]) -> list[str]:
    """Record (and return) what each attack states about how it built its prompts, e.g. the
    units a discoverable prefix was cut in (:meth:`Attack.notes`); nothing when none does."""
    notes = [n for a in attacks
             for n in a.notes(ctx, [p for p in prompts if p.attack == a.name])]
    if notes or store.get_meta(ATTACK_NOTES_META) is not None:
        store.set_meta(ATTACK_NOTES_META, notes)
    return notes


def record_execution(store: RunStore, target: Target, executor: str, batch_size: int,
                     detectors: Sequence[Detector] = ()) -> None:
    """Record the target's resolved profile (refusing a resume whose target resolves other
    prompt-relevant facts) and append where this start of the run computed: the executor, the
    threads, the replicas and the batch plan (the scan's batch, and each model copy's); and
    the figures this start could not compute (``not_computed`` meta, shown by reports)."""
    from regurgitate.targets.profile import (
        EXECUTION_META,
        NOT_COMPUTED_META,
        PROFILE_META,
        TargetProfile,
        profile_diffs,
    )

    profile = target.profile()
    stored = TargetProfile.from_dict(store.get_meta(PROFILE_META))
    if stored is not None:
        diffs = profile_diffs(stored, profile)
        if diffs:
            raise ConfigError(f"{store.path} was started with a target that resolved other "
                              f"prompt settings ({'; '.join(diffs[:3])}): resuming would not "
                              "give the answer of a straight run",
                              hint="resume it with the same model files, or pass --run NEW.db "
                              "to start a fresh run")
    else:
        store.set_meta(PROFILE_META, profile.as_dict())
    segments = list(store.get_meta(EXECUTION_META) or [])
    segments.append({"executor": executor, "threads": profile.threads,
                     "replicas": getattr(target, "replicas", 1),
                     "batch_size": batch_size, "replica_batch_size": profile.batch_size,
                     "at": now()})
    store.set_meta(EXECUTION_META, segments)
    missing = [{"figure": f, "reason": r, "executor": executor}
               for f, r in not_computed(detectors)]
    if missing or store.get_meta(NOT_COMPUTED_META) is not None:
        known = list(store.get_meta(NOT_COMPUTED_META) or [])
        store.set_meta(NOT_COMPUTED_META, known + [m for m in missing if m not in known])


def run_scan(
    *,
    store: RunStore,
    spec: RunSpec,
    target: Target,
    attacks: Sequence[Attack],
    detectors: Sequence[Detector],
    index: CorpusIndex | None,
    seed: int = 0,
    batch_size: int | None = None,
    budget: Budget | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    image_index: ImageIndex | None = None,
    executor: str = "local",
) -> ScanOutcome:
    """Run (or resume) a scan into ``store``. Stops cleanly at the budget or when
    ``should_stop()`` turns true between batches; finished work is always committed.
    ``index`` is a text scan's corpus index, ``image_index`` an image scan's training
    images; ``executor`` names where ``target`` computes (recorded with the target's profile,
    :func:`record_execution`)."""
    progress = progress or _Silent()
    budget = budget or Budget()
    t0 = time.monotonic()
    detectors = order_detectors(detectors)  # a bad set fails before any work
    _check_groups(detectors)
    store.init_run(spec)
    record_execution(store, target, executor, batch_size or target.batch_size, detectors)
    from regurgitate.targets.profile import target_tokenizer

    ctx = AttackContext(index=index, seed=seed, chat=target.chat, image_index=image_index,
                        target_tokenizer=target_tokenizer(target))
    prompts = plan_prompts(attacks, ctx)
    record_attack_notes(store, attacks, ctx, prompts)
    changed = store.changed_prompts(prompts)
    if changed:
        raise ConfigError(f"{store.path} holds other prompts than this scan builds "
                          f"({len(changed)}, e.g. {changed[0]!r}): resuming would mix two "
                          "setups in one run",
                          hint="resume with the same target, options and tool version, or "
                          "pass --run NEW.db to start a fresh run")
    store.add_prompts(prompts)
    outcome = ScanOutcome(prompts=len(prompts))
    stage = GenerationStage.over(store, target, budget, should_stop, outcome,
                                 index.tokenizer if index is not None else None)
    # a budget is shared across the attacks
    pending = generation_order(store.pending_prompts(), budget)
    progress.start(total=stage.done_gens + len(pending), done=stage.done_gens)
    store.set_meta("status", "running")
    if store.get_meta("started_at") is None:
        store.set_meta("started_at", now())
    runtime = target.runtime()
    if runtime:  # the device and dtype the model computed in (report headers show them)
        store.set_meta("target_runtime", runtime)
    if index is not None:
        store.set_meta("index_info", json.loads(json.dumps(index.info, default=str)))
    if image_index is not None:
        store.set_meta("index_info", json.loads(json.dumps(image_index.info, default=str)))
        store.set_meta(IMAGE_INDEX_META, image_index.describe())

    # finish detection left over by an interrupted earlier run before generating more
    detect_all(store, detectors)

    size = batch_size or target.batch_size
    pos = 0
    while pos < len(pending):
        reason = stage.stop_reason()
        if reason:
            outcome.stopped = reason
            break
        batch = pending[pos:pos + stage.room(size)]
        gens = stage.generate(batch)
        pos += len(batch)
        new_tokens = sum(g.generated_tokens for g in gens if g.ok)
        spans = sum(isinstance(f.payload, VerbatimSpan) for f in detect_all(store, detectors))
        outcome.spans += spans
        progress.advance(len(gens), new_tokens, spans)

    outcome.pending = len(pending) - pos + outcome.failed
    if outcome.stopped is None and outcome.failed == 0:
        store.set_meta("status", "finished")
        store.set_meta("finished_at", now())
    else:
        store.set_meta("status", "stopped" if outcome.stopped else "incomplete")
    outcome.elapsed_s = time.monotonic() - t0
    return outcome
