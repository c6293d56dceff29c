"""Detectors: turn (prompt, generation) pairs into typed findings, a batch at a time.

Each is registered in the ``regurgitate.detectors`` entry-point group and built for a scan by
:func:`regurgitate.scan.assembly.default_detectors`; ``requires`` orders them (``pii`` reads
``verbatim``'s findings).

==========================  =====================================  ============================
detector name               class (module)                         needs
==========================  =====================================  ============================
``verbatim``                ``VerbatimDetector``                   a corpus index
``near_verbatim``           ``NearVerbatimDetector``               a corpus index
``discoverable``            ``DiscoverableDetector``               true suffixes in prompt meta
``divergence``              ``DivergenceDetector``                 ``word`` in prompt meta
``pii``                     ``PIIDetector``                        ``verbatim`` findings
``membership``              ``MembershipDetector``                 logprobs, or a scorer
``image_copy``              ``ImageCopyDetector``                  a training-image index
``image_clique``            ``ImageCliqueDetector``                a prompt's images (group)
                            (image_cliques)
``image_similarity``        ``ImageSimilarityDetector``            an embedding model
``img2img_reconstruction``  ``Img2ImgReconstructionDetector``      img2img prompts, an index
                            (img2img)
``diffusion_membership``    ``DiffusionMembershipDetector``        the diffusion model itself
==========================  =====================================  ============================

Each lives in ``detectors/<name>.py`` unless the module is named in brackets.
The measures they share live in :mod:`regurgitate.metrics` and model scoring in
:mod:`regurgitate.runtimes.scoring` (re-exported here for compatibility).
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
from regurgitate.detectors.membership import MembershipDetector
from regurgitate.detectors.near_verbatim import NearVerbatimDetector
from regurgitate.detectors.pii import PIIDetector, PIIMatch, PresidioNames, find_pii
from regurgitate.detectors.verbatim import MemorizedSequence, VerbatimDetector, unique_sequences
from regurgitate.metrics.membership_signals import MEMBER_IF_HIGHER, signals
from regurgitate.metrics.roc import roc_auc, roc_curve, tpr_at_fpr
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
