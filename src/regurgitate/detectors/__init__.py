"""Detectors: turn (prompt, generation) pairs into typed findings, a batch at a time.

Each is registered in the ``regurgitate.detectors`` entry-point group and built for a scan by
:func:`regurgitate.scan.assembly.default_detectors`; ``requires`` orders them (``pii`` reads
``verbatim``'s findings).

=================  ==============================  ===========================================
detector name      class                           needs
=================  ==============================  ===========================================
``verbatim``       :class:`VerbatimDetector`       a corpus index
``near_verbatim``  :class:`NearVerbatimDetector`   a corpus index
``discoverable``   :class:`DiscoverableDetector`   ``true_suffix_ids`` / ``true_suffix`` in meta
``divergence``     :class:`DivergenceDetector`     ``word`` in prompt meta
``pii``            :class:`PIIDetector`            ``verbatim`` findings (presidio for names)
``membership``     :class:`MembershipDetector`     logprobs from the target, or a scorer
=================  ==============================  ===========================================
"""

from regurgitate.detectors.base import (
    NO_PRIOR,
    Detector,
    DetectorContext,
    Item,
    Prior,
    order_detectors,
)
from regurgitate.detectors.discoverable import DiscoverableDetector
from regurgitate.detectors.divergence import DivergenceDetector, divergence_point
from regurgitate.detectors.membership import MEMBER_IF_HIGHER, MembershipDetector, signals
from regurgitate.detectors.near_verbatim import NearVerbatimDetector
from regurgitate.detectors.pii import PIIDetector, PIIMatch, PresidioNames, find_pii
from regurgitate.detectors.verbatim import MemorizedSequence, VerbatimDetector, unique_sequences
from regurgitate.metrics.membership import roc_auc, roc_curve, tpr_at_fpr
from regurgitate.metrics.similarity import edit_similarity, longest_common_substring, rouge_l
from regurgitate.runtimes.scoring import HFScorer, Scorer, TokenScores, distribution_stats

__all__ = [
    "MEMBER_IF_HIGHER",
    "NO_PRIOR",
    "Detector",
    "DetectorContext",
    "DiscoverableDetector",
    "DivergenceDetector",
    "HFScorer",
    "Item",
    "MembershipDetector",
    "MemorizedSequence",
    "NearVerbatimDetector",
    "PIIDetector",
    "PIIMatch",
    "Prior",
    "PresidioNames",
    "Scorer",
    "TokenScores",
    "VerbatimDetector",
    "distribution_stats",
    "divergence_point",
    "edit_similarity",
    "find_pii",
    "longest_common_substring",
    "order_detectors",
    "roc_auc",
    "roc_curve",
    "rouge_l",
    "signals",
    "tpr_at_fpr",
    "unique_sequences",
]
