"""``regurgitate audit WORKS --controls CONTROLS``: dataset inference of the user's works (the
suspect set) against control works the model cannot have seen, under the target's own model.

The works and the controls are cut into passages (each passage keeps its work as its group, so
a work's passages stay on one side of every split); the signals of
:mod:`regurgitate.metrics.membership_evidence.features` are the features, and
:func:`~regurgitate.metrics.membership_evidence.text_inference.text_dataset_inference` gives
the median p-value, the effect size and the blind baseline on the same sets. DC-PDD uses the
token frequencies of ``--index`` when that local index tokenizes as the model does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from regurgitate.audit.works import Work, load_works
from regurgitate.errors import ConfigError
from regurgitate.metrics.corpus_signals import index_frequencies
from regurgitate.metrics.membership_evidence.dataset_inference import DatasetInferenceResult
from regurgitate.metrics.membership_evidence.passages import passages_of
from regurgitate.metrics.membership_evidence.text_inference import (
    PREFIX_WORKS,
    text_dataset_inference,
)
from regurgitate.runtimes.scoring import HFScorer
from regurgitate.targets.base import Target


def controls_inference(target: Target, works: Sequence[Work], controls: Path, *,
                       index: object | None = None, seed: int = 0,
                       prefix_works: int = PREFIX_WORKS) -> DatasetInferenceResult:
    """The dataset-inference test of ``works`` against the works read from ``controls`` (a
    text file, a folder of them, or JSONL, as WORKS); the first ``prefix_works`` controls are
    ReCaLL's prefix (``audit --prefix-controls``)."""
    scorer = target.scorer()
    if not isinstance(scorer, HFScorer):
        raise ConfigError(
            f"--controls needs the model's own token probabilities; target {target.name!r} "
            "gives none", hint="use a local target (reference, hf:DIR) for dataset inference")
    control_works = load_works(controls)
    ids = {w.id for w in works}
    if ids & {w.id for w in control_works}:
        raise ConfigError("a work appears both in WORKS and in --controls",
                          hint="the controls must be works the model cannot have seen")
    suspect = passages_of([(f"work:{w.id}", w.text) for w in works])
    control = passages_of([(f"control:{w.id}", w.text) for w in control_works])
    return text_dataset_inference(scorer, suspect, control,
                                  frequencies=index_frequencies(index, scorer), seed=seed,
                                  prefix_works=prefix_works)
