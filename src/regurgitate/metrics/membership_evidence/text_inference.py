"""Dataset inference for text in one call: suspect works against control works under a local
causal LM (what ``regurgitate audit --controls`` runs).

Controls supply the ReCaLL prefix (their first ``prefix_works`` works, then left out of the
test), every signal of :mod:`.features` becomes a feature, the blind baseline is fitted on the
same two sets, and :func:`.dataset_inference.dataset_inference` gives the p-value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from regurgitate.errors import ConfigError
from regurgitate.metrics.membership_evidence.blind import blind_baseline
from regurgitate.metrics.membership_evidence.dataset_inference import (
    DEFAULT_SPLITS,
    NULL_TRIALS,
    DatasetInferenceResult,
    dataset_inference,
)
from regurgitate.metrics.membership_evidence.features import build_prefix, text_features
from regurgitate.metrics.membership_evidence.model_free import text_statistics
from regurgitate.metrics.membership_evidence.passages import Passage
from regurgitate.metrics.roc import roc_auc
from regurgitate.runtimes.scoring import HFScorer

PREFIX_WORKS = 2


def text_dataset_inference(scorer: HFScorer, suspect: Sequence[Passage],
                           control: Sequence[Passage], *,
                           frequencies: np.ndarray | None = None,
                           prefix_works: int = PREFIX_WORKS, splits: int = DEFAULT_SPLITS,
                           seed: int = 0, alpha: float = 0.05,
                           null_trials: int = NULL_TRIALS) -> DatasetInferenceResult:
    """The test for passages of suspect works against passages of control works (each
    :class:`~.passages.Passage` names its work in ``group``). ``frequencies``: smoothed token
    frequencies for DC-PDD (None leaves DC-PDD out); ``prefix_works=0`` leaves ReCaLL out.
    The verdict accounts for a change of kind: the model-free statistics of
    :mod:`.model_free` and the blind classifier's out-of-fold scores are regressed out of the
    membership features before the test (see :class:`.dataset_inference.DatasetInferenceResult`).
    ``null_trials``: label shuffles measuring the false-positive rate at the sizes used."""
    works = list(dict.fromkeys(p.group for p in control))
    prefix_of = set(works[:prefix_works]) if prefix_works > 0 else set()
    if prefix_of and len(works) - len(prefix_of) < 4:
        raise ConfigError(f"the controls hold {len(works)} works; ReCaLL's prefix takes "
                          f"{len(prefix_of)} and the test needs at least 4 more",
                          hint=f"add control works (at least {len(prefix_of) + 4} in all), or "
                          "leave ReCaLL out (audit --prefix-controls 0; prefix_works=0 from "
                          "Python)")
    rest = [p for p in control if p.group not in prefix_of]
    prefix = build_prefix(scorer, [p.text for p in control if p.group in prefix_of]) \
        if prefix_of else None
    s = text_features(scorer, [p.text for p in suspect], frequencies=frequencies, prefix=prefix)
    c = text_features(scorer, [p.text for p in rest], frequencies=frequencies, prefix=prefix)
    names = tuple(n for n in s.names if n in c.names)
    sx = np.column_stack([s.column(n) for n in names])
    cx = np.column_stack([c.column(n) for n in names])
    blind = blind_baseline([p.text for p in suspect], [p.text for p in rest],
                           member_groups=[p.group for p in suspect],
                           nonmember_groups=[p.group for p in rest], seed=seed)
    labels = [1] * len(sx) + [0] * len(cx)
    aucs = {n: roc_auc(np.r_[sx[:, j], cx[:, j]].tolist(), labels)
            for j, n in enumerate(names)}
    # what the texts alone say, the blind classifier's out-of-fold score among it
    z = np.c_[text_statistics([p.text for p in [*suspect, *rest]]), blind.scores]
    result = dataset_inference(sx, cx, features=names,
                               suspect_groups=[p.group for p in suspect],
                               control_groups=[p.group for p in rest], splits=splits,
                               seed=seed, alpha=alpha, blind_baseline_auc=blind.auc,
                               unit="passages", model_free=(z[:len(sx)], z[len(sx):]),
                               null_trials=null_trials)
    return replace(result, signal_aucs=aucs, prefix_works=len(prefix_of),
                   prefix_controls=len(control) - len(rest))
