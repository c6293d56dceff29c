"""Membership and image-to-image figures of an image run, read from its run store.

* one row per membership signal (:class:`DiffusionMembership` findings): ROC-AUC and TPR at
  1% FPR of planted (in the training data) against held-out images, each signal oriented so
  that higher means member (loss and PIA negated), with the timestep and steps it used;
* one row per img2img strength and duplicate group (:class:`Img2ImgReconstruction`): images,
  mean and smallest distance to the own source, the share within the copy threshold, and per
  strength the AUC of the (negated) distance as a membership signal;
* the closest reconstructions, with their captions (untrusted: the renderers escape them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from regurgitate.findings.images import DiffusionMembership, Img2ImgReconstruction
from regurgitate.metrics.roc import roc_auc, tpr_at_fpr
from regurgitate.store.runstore import RunStore

LOW_FPR = 0.01
MAX_CLOSEST = 10


@dataclass(frozen=True)
class SignalRow:
    signal: str  # loss, pia, wen
    label: str  # what the report calls it
    params: str  # timestep / steps used
    members: int
    nonmembers: int
    auc: float | None  # None without both classes
    tpr_low: float | None


@dataclass(frozen=True)
class Img2ImgRow:
    strength: float
    duplicates: int  # 0: held out
    images: int
    mean_distance: float
    min_distance: float
    same: int  # gave the same image back (within the threshold)
    auc: float | None = None  # the strength's distance as a membership signal (first row)

    @property
    def same_rate(self) -> float:
        return self.same / self.images if self.images else 0.0


@dataclass(frozen=True)
class Closest:
    source_id: str
    caption: str
    duplicates: int
    strength: float
    distance: float
    same: bool


@dataclass
class MiaSummary:
    signals: list[SignalRow] = field(default_factory=list)
    img2img: list[Img2ImgRow] = field(default_factory=list)
    closest: list[Closest] = field(default_factory=list)
    threshold: float = 0.15
    measured: int = 0  # membership findings

    @property
    def empty(self) -> bool:
        return not self.signals and not self.img2img


def _auc(scores: Sequence[float], labels: Sequence[int]) -> tuple[float | None, float | None]:
    if not labels or all(labels) or not any(labels):
        return None, None
    return roc_auc(scores, labels), tpr_at_fpr(scores, labels, LOW_FPR)


def _params(p: DiffusionMembership, signal: str) -> str:
    if signal == "wen":
        ts = ",".join(str(t) for t in p.wen_timesteps) or "?"
        return (f"steps {p.wen_steps}/{p.wen_inference_steps} (t={ts}), "
                f"g={p.wen_guidance:g}, {p.wen_generations} gen")
    if signal == "loss":
        return f"t={p.timestep}/{p.train_timesteps}, {p.loss_draws} draw"
    return f"t={p.timestep}/{p.train_timesteps}, p={p.pia_p}"


LABELS = {"loss": "Loss at t", "pia": "PIA", "wen": "Wen noise norm"}
#: +1: higher means member as stored; -1: lower means member
ORIENT = {"loss": -1.0, "pia": -1.0, "wen": 1.0}


def summarize_mia(store: RunStore) -> MiaSummary:
    s = MiaSummary()
    members: list[DiffusionMembership] = []
    for f in store.findings(kind=DiffusionMembership.kind):
        p = f.payload_as(DiffusionMembership)
        if p is not None:
            members.append(p)
    s.measured = len(members)
    for signal in ("loss", "pia", "wen"):
        have = [p for p in members if getattr(p, signal) is not None]
        if not have:
            continue
        scores = [ORIENT[signal] * float(getattr(p, signal)) for p in have]
        labels = [int(p.member) for p in have]
        auc, tpr = _auc(scores, labels)
        s.signals.append(SignalRow(signal=signal, label=LABELS[signal],
                                   params=_params(have[0], signal), members=sum(labels),
                                   nonmembers=len(labels) - sum(labels), auc=auc, tpr_low=tpr))
    recon: list[Img2ImgReconstruction] = []
    for f in store.findings(kind=Img2ImgReconstruction.kind):
        q = f.payload_as(Img2ImgReconstruction)
        if q is not None:
            recon.append(q)
    if recon:
        s.threshold = recon[0].threshold
    for strength in sorted({q.strength for q in recon}):
        at = [q for q in recon if q.strength == strength]
        auc, _ = _auc([-q.distance for q in at], [int(q.duplicates > 0) for q in at])
        groups = sorted({q.duplicates for q in at}, key=lambda d: (d == 0, -d))
        for i, dup in enumerate(groups):
            g = [q for q in at if q.duplicates == dup]
            d = [q.distance for q in g]
            s.img2img.append(Img2ImgRow(strength=strength, duplicates=dup, images=len(g),
                                        mean_distance=sum(d) / len(d), min_distance=min(d),
                                        same=sum(q.same_image for q in g),
                                        auc=auc if i == 0 else None))
    best = sorted(recon, key=lambda q: (q.distance, q.source_id, q.strength))[:MAX_CLOSEST]
    s.closest = [Closest(source_id=q.source_id, caption=q.caption, duplicates=q.duplicates,
                         strength=q.strength, distance=q.distance, same=q.same_image)
                 for q in best]
    return s
