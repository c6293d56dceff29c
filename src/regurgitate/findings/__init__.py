"""Finding payloads: the text kinds (:mod:`.text`) and the image kinds (:mod:`.images`) side by
side; ``regurgitate.findings`` is their one import path (``Finding`` lives here only)."""

from __future__ import annotations

from regurgitate.findings.images import (
    DiffusionMembership,
    ImageClique,
    ImageCopy,
    ImageSimilarity,
    Img2ImgReconstruction,
    NearImage,
)
from regurgitate.findings.text import (
    PAYLOAD_GROUP,
    DiscoverableProbe,
    DivergedOutput,
    ExtractionEstimate,
    Finding,
    MembershipSignals,
    NearVerbatimMatch,
    Payload,
    PIIHit,
    RepeatedWindow,
    SourcePassage,
    UnknownPayload,
    VerbatimRun,
    VerbatimSpan,
    payload_from_json,
    payload_kinds,
    payload_type,
)

__all__ = [
    "PAYLOAD_GROUP",
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
    "payload_type",
]
