"""Typed finding payloads of the image detectors (stored with their ``kind`` and ``version``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from regurgitate.findings.base import Payload


@dataclass(frozen=True)
class NearImage:
    """A training image near a generation: its id, caption and distances."""

    train_id: str
    caption: str
    distance: float  # Carlini's tiled L2
    whole_distance: float  # normalised L2 of the whole image
    phash_bits: int  # Hamming distance of the perceptual hashes (of 64)
    count: int  # times the image occurs in the training data (0: indexed but not trained on)
    caption_count: int
    split: str = "train"
    similarity: float | None = None  # copy-detection cosine, when the index has embeddings


@dataclass(frozen=True)
class ImageCopy(Payload):
    """A generation measured against the training-image index.

    ``extracted`` is true when some training image lies within ``threshold`` (tiled L2), which
    is Carlini et al.'s extraction verdict; ``matches`` lists all of those, ``nearest`` the
    closest training images (for the report), closest first. ``image_sha256`` names the
    generated PNG in the run store.
    """

    kind: ClassVar[str] = "image_copy"
    version: ClassVar[int] = 1
    extracted: bool
    distance: float
    threshold: float
    image_sha256: str
    matches: tuple[NearImage, ...] = ()
    nearest: tuple[NearImage, ...] = ()


@dataclass(frozen=True)
class ImageClique(Payload):
    """A generation in a clique: at least ``k`` generations of one prompt within ``threshold``
    of each other (tiled L2), a sign of memorization that needs no training data."""

    kind: ClassVar[str] = "image_clique"
    version: ClassVar[int] = 1
    prompt: str
    size: int
    k: int
    of: int  # generations of this prompt
    threshold: float
    members: tuple[int, ...]  # generation ids of the clique
    image_sha256: str


@dataclass(frozen=True)
class ImageSimilarity(Payload):
    """Copy-detection similarity (SSCD or CLIP cosine) of a generation to its most similar
    training image; ``loose`` (> 0.5) and ``strict`` (> 0.75) as in Somepalli et al."""

    kind: ClassVar[str] = "image_similarity"
    version: ClassVar[int] = 1
    similarity: float
    train_id: str
    caption: str
    loose: bool
    strict: bool
    model: str


@dataclass(frozen=True)
class Img2ImgReconstruction(Payload):
    """How close an image-to-image generation came back to its own source training image.

    ``distance`` is Carlini's tiled L2 to the source (at the source's stored size),
    ``same_image`` whether it is within ``threshold`` ("gave the same image back");
    ``similarity`` the copy-detection cosine when the scan's index has embeddings."""

    kind: ClassVar[str] = "img2img_reconstruction"
    version: ClassVar[int] = 1
    source_id: str
    caption: str
    duplicates: int  # times the source occurs in the training data (0: held out)
    split: str
    strength: float
    distance: float
    whole_distance: float
    threshold: float
    same_image: bool
    similarity: float | None = None
    model: str = ""  # the embedding model of ``similarity``


@dataclass(frozen=True)
class DiffusionMembership(Payload):
    """Membership signals of one training/held-out image and its caption, read from the
    model's own noise predictions (see :mod:`regurgitate.metrics.diffusion_membership`).

    Orientation as the papers define them: ``loss`` and ``pia`` are lower for members,
    ``wen`` higher for memorized captions; None where a signal was switched off.
    ``member`` is the label for the report's ROC: the source occurs in the training data
    (``duplicates > 0``) rather than held out."""

    kind: ClassVar[str] = "diffusion_membership"
    version: ClassVar[int] = 1
    source_id: str
    caption: str
    duplicates: int
    split: str
    member: bool
    loss: float | None
    pia: float | None
    wen: float | None
    timestep: int  # t of the loss and of PIA (of num_train_timesteps)
    train_timesteps: int
    loss_draws: int
    pia_p: int
    wen_steps: int  # denoising steps averaged
    wen_inference_steps: int
    wen_generations: int
    wen_guidance: float
    wen_timesteps: tuple[int, ...] = ()
    seed: int = 0
