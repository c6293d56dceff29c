"""Finding payloads: the generic machinery (:mod:`.base`: ``Finding``, ``Payload``, the kind
lookup and the store's codec) and every built-in kind, text (:mod:`.text`), image
(:mod:`.images`) and the audit's (:mod:`.audit`); ``regurgitate.findings`` is their one import
path."""

from __future__ import annotations

from regurgitate.findings.audit import AuditWindow
from regurgitate.findings.base import (
    PAYLOAD_GROUP,
    Finding,
    Payload,
    UnknownPayload,
    payload_from_json,
    payload_kinds,
    payload_registry,
    payload_type,
)
from regurgitate.findings.images import (
    DiffusionMembership,
    ImageClique,
    ImageCopy,
    ImageSimilarity,
    Img2ImgReconstruction,
    NearImage,
)
from regurgitate.findings.text import (
    DiscoverableProbe,
    DivergedOutput,
    ExtractionEstimate,
    MembershipSignals,
    NearVerbatimMatch,
    PIIHit,
    RepeatedWindow,
    SourcePassage,
    VerbatimRun,
    VerbatimSpan,
)

__all__ = [
    "PAYLOAD_GROUP",
    "AuditWindow",
    "DiffusionMembership",
    "DiscoverableProbe",
    "DivergedOutput",
    "ExtractionEstimate",
    "Finding",
    "ImageClique",
    "ImageCopy",
    "ImageSimilarity",
    "Img2ImgReconstruction",
    "MembershipSignals",
    "NearImage",
    "NearVerbatimMatch",
    "PIIHit",
    "Payload",
    "RepeatedWindow",
    "SourcePassage",
    "UnknownPayload",
    "VerbatimRun",
    "VerbatimSpan",
    "payload_from_json",
    "payload_kinds",
    "payload_registry",
    "payload_type",
]
