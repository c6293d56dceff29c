"""Diffusion membership detector: the loss at a fixed timestep, PIA and Wen et al.'s norm.

It judges each source image of the img2img attack once (the prompt marked ``mia_primary``,
its first strength), with the target's own UNet, VAE and text encoder: the image's VAE latent
and its caption go into the three signals of :mod:`regurgitate.metrics.diffusion_membership`, and
one
:class:`DiffusionMembership` finding records them with the member label (the source occurs in
the training data, ``duplicates > 0``, against held out) and every parameter used, so the
report can compute ROC-AUC and TPR at low FPR over planted and held-out images.

It applies only to a target that exposes a latent text-to-image pipeline (``diffusers:``
folders of the Stable Diffusion kind); elsewhere ``create`` returns None (it is skipped in a
default scan; asked for by name, the scan stops with a ConfigError saying why). Seeds depend
only on the source id and ``seed``, so a resumed scan computes the same values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from regurgitate.detectors.base import Detector, DetectorContext, Prior
from regurgitate.errors import ConfigError
from regurgitate.findings import Finding
from regurgitate.findings.images import DiffusionMembership
from regurgitate.images.imageio import from_base64_png
from regurgitate.metrics import diffusion_membership as mia
from regurgitate.options import convert_options
from regurgitate.types import Item, Modality

SIGNALS = ("loss", "pia", "wen")


def source_seed(source_id: str, seed: int) -> int:
    return (int(hashlib.sha256(source_id.encode("utf-8")).hexdigest()[:8], 16)
            + 104729 * seed) % (2**31 - 1)


class DiffusionMembershipDetector(Detector):
    """Loss at t, PIA and the text-conditional noise norm, once per source image."""

    name = "diffusion_membership"
    modality: ClassVar[Modality] = "image"
    #: what ``create`` needs, for the message when it cannot run
    needs: ClassVar[str] = ("a latent text-to-image diffusers target (UNet, VAE, text "
                            "encoder) and the img2img attack")
    options_exclude: ClassVar[tuple[str, ...]] = ("model",)  # the target's model, from create()

    def __init__(self, model: mia.LatentDiffusion, timestep: int = mia.DEFAULT_T,
                 loss_draws: int = 1, pia_p: int = mia.DEFAULT_PIA_P, wen_steps: int = 1,
                 wen_inference_steps: int = mia.DEFAULT_WEN_INFERENCE_STEPS,
                 wen_generations: int = 1, wen_guidance: float = mia.DEFAULT_WEN_GUIDANCE,
                 signals: tuple[str, ...] = SIGNALS, seed: int = 0) -> None:
        """``timestep``: t of the loss and of PIA, of the model's training schedule;
        ``loss_draws``: seeded noise draws averaged by the loss; ``pia_p``: the power PIA
        sums; ``wen_steps``: first denoising steps Wen et al.'s norm averages;
        ``wen_inference_steps``: DDIM steps of the trajectory it follows;
        ``wen_generations``: seeds it averages over; ``wen_guidance``: the guidance scale that
        steers that trajectory; ``signals``: which of loss, pia, wen to compute;
        ``seed``: added to each source image's seed."""
        unknown = sorted(set(signals) - set(SIGNALS))
        if unknown:
            raise ConfigError(f"unknown diffusion membership signal {unknown[0]!r}",
                              hint=f"choose among {', '.join(SIGNALS)}")
        if loss_draws < 1 or wen_generations < 1 or pia_p < 1:
            raise ConfigError("loss_draws, wen_generations and pia_p must be at least 1")
        self.model = model
        self.timestep = mia.check_timestep(model, timestep)
        self.loss_draws = int(loss_draws)
        self.pia_p = int(pia_p)
        self.wen_steps = int(wen_steps)
        self.wen_inference_steps = int(wen_inference_steps)
        if not 1 <= self.wen_steps <= self.wen_inference_steps:
            raise ConfigError(f"wen_steps must be within 1 .. {self.wen_inference_steps}")
        self.wen_generations = int(wen_generations)
        self.wen_guidance = float(wen_guidance)
        self.signals = tuple(signals)
        self.seed = int(seed)

    @classmethod
    def create(cls, ctx: DetectorContext, options: Mapping[str, Any]) -> Detector | None:
        target = ctx.target
        pipe = getattr(target, "pipe", None)
        if pipe is None or getattr(target, "mode", None) != "text":
            return None
        model = mia.LatentDiffusion.from_pipeline(
            pipe, device=str(getattr(target, "device", "cpu")),
            batch_size=int(getattr(target, "batch_size", 16)))
        if model is None:
            return None
        return cls(model, **convert_options(cls, options, owner=f"the {cls.name} detector",
                                          skip=1))

    def parameters(self) -> dict[str, Any]:
        return {"timestep": self.timestep, "train_timesteps": self.model.train_timesteps,
                "loss_draws": self.loss_draws, "pia_p": self.pia_p,
                "wen_steps": self.wen_steps, "wen_inference_steps": self.wen_inference_steps,
                "wen_generations": self.wen_generations, "wen_guidance": self.wen_guidance,
                "seed": self.seed}

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        chosen: list[Item] = []
        images: list[np.ndarray] = []
        for it in items:
            meta = it.prompt.meta
            if not (meta.get("mia_primary") and meta.get("init_image") and meta.get("source_id")):
                continue
            try:
                images.append(from_base64_png(str(meta["init_image"])))
            except (OSError, ValueError):  # not an image: nothing to judge
                continue
            chosen.append(it)
        if not chosen:
            return []
        values = self.signal_values([it.prompt.as_text() for it in chosen], images,
                                    [str(it.prompt.meta["source_id"]) for it in chosen])
        out: list[Finding] = []
        for i, it in enumerate(chosen):
            meta = it.prompt.meta
            dup = int(meta.get("duplicates", 0))
            split = str(meta.get("split", ""))
            got = {k: (None if v is None else round(float(v[i]), 8))
                   for k, v in values["signals"].items()}
            payload = DiffusionMembership(
                source_id=str(meta["source_id"]), caption=it.prompt.as_text(), duplicates=dup,
                split=split, member=dup > 0 and split != "heldout", loss=got["loss"],
                pia=got["pia"], wen=got["wen"], timestep=self.timestep,
                train_timesteps=self.model.train_timesteps, loss_draws=self.loss_draws,
                pia_p=self.pia_p, wen_steps=self.wen_steps,
                wen_inference_steps=self.wen_inference_steps,
                wen_generations=self.wen_generations, wen_guidance=self.wen_guidance,
                wen_timesteps=tuple(values["wen_timesteps"]), seed=self.seed)
            out.append(Finding(generation_id=it.generation_id, detector=self.name,
                               payload=payload, score=got["loss"]))
        return out

    def signal_values(self, captions: Sequence[str], images: Sequence[np.ndarray],
                      source_ids: Sequence[str]) -> dict[str, Any]:
        """Every enabled signal for each (caption, image, source id)."""
        m = self.model
        base = [source_seed(s, self.seed) for s in source_ids]
        cond = mia.encode_text(m, captions)
        signals: dict[str, np.ndarray | None] = dict.fromkeys(SIGNALS)
        wen_timesteps: list[int] = []
        if "loss" in self.signals or "pia" in self.signals:
            latents = mia.encode_images(m, images)
            if "loss" in self.signals:
                draws = [[b + 7919 * d for d in range(self.loss_draws)] for b in base]
                signals["loss"] = mia.loss_at_t(m, latents, cond, self.timestep, draws)
            if "pia" in self.signals:
                signals["pia"] = mia.pia(m, latents, cond, self.timestep, self.pia_p)
        if "wen" in self.signals:
            g = self.wen_generations
            rep = cond.repeat_interleave(g, dim=0)
            seeds = [b + 7919 * i for b in base for i in range(g)]
            norms, wen_timesteps = mia.wen_norm(
                m, rep, mia.encode_text(m, [""]), seeds, steps=self.wen_steps,
                inference_steps=self.wen_inference_steps, guidance=self.wen_guidance)
            signals["wen"] = norms.reshape(len(captions), g).mean(axis=1)
        return {"signals": signals, "wen_timesteps": wen_timesteps}
