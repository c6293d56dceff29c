"""Anisotropy detection of memorized text-to-image prompts (Asthana & Belagiannis, ICLR 2026,
"Detecting and Mitigating Memorization in Diffusion Models through Anisotropy of the
Log-Probability").

Two UNet passes (conditional and unconditional, batched) on pure seeded noise ``x_T``, no
denoising: at the first timestep of a DDIM schedule of ``inference_steps`` steps, the norm of
the guidance vector ``||eps(x_T, c) - eps(x_T, "")||_2`` over the whole latent (Wen et al.'s
one-step norm, "isotropic" part); at the third-last (low-noise) timestep, the cosine between
the unconditional prediction and the guidance vector, taken over the channels at every latent
position and averaged over positions (their mode ``x,c|x``, no normalization). The score is
``gamma_norm * norm + gamma_cos * cosine`` (their Stable Diffusion v1 weights 1 and 2 by
default); memorized captions score higher. Predictions are read as eps (v-predictions
converted, :func:`regurgitate.metrics.diffusion_membership.predict_eps`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from regurgitate.errors import ConfigError
from regurgitate.metrics.diffusion_membership import (
    LatentDiffusion,
    latent_shape,
    noise_like,
    predict_eps,
)
from regurgitate.runtimes.torch_deps import diffusion_torch

DEFAULT_INFERENCE_STEPS = 50
GAMMA_NORM = 1.0
GAMMA_COS = 2.0


@dataclass(frozen=True)
class Anisotropy:
    score: np.ndarray
    norm: np.ndarray
    cosine: np.ndarray
    timesteps: tuple[int, int]  # (norm, cosine)


def anisotropy(model: LatentDiffusion, cond: Any, uncond: Any, seeds: Sequence[int], *,
               inference_steps: int = DEFAULT_INFERENCE_STEPS, gamma_norm: float = GAMMA_NORM,
               gamma_cos: float = GAMMA_COS) -> Anisotropy:
    """One value per row of ``cond`` (row i from the noise of ``seeds[i]``)."""
    torch = diffusion_torch("the anisotropy score")
    from diffusers import DDIMScheduler

    if inference_steps < 3:
        raise ConfigError(f"anisotropy needs at least 3 inference steps, got {inference_steps}")
    if len(seeds) != cond.shape[0]:
        raise ConfigError(f"{len(seeds)} seeds for {cond.shape[0]} captions")
    sched = DDIMScheduler.from_config(model.scheduler_config, prediction_type="epsilon")
    sched.set_timesteps(inference_steps, device=model.device)
    t_norm, t_cos = sched.timesteps[0], sched.timesteps[-3]
    n = cond.shape[0]
    norms = np.zeros(n, dtype=np.float64)
    cosines = np.zeros(n, dtype=np.float64)
    shape = latent_shape(model)
    for start in range(0, n, model.batch_size):
        sl = slice(start, min(n, start + model.batch_size))
        base = torch.empty((sl.stop - sl.start, *shape), device=model.device, dtype=model.dtype)
        x = noise_like(base, seeds[sl]) * sched.init_noise_sigma
        c = cond[sl]
        u = uncond[:1].expand(c.shape[0], *uncond.shape[1:]) if uncond.shape[0] == 1 \
            else uncond[sl]
        both = torch.cat([u, c])
        eps_u, eps_c = predict_eps(model, sched.scale_model_input(torch.cat([x, x]), t_norm),
                                   t_norm, both).float().chunk(2)
        norms[sl] = (eps_c - eps_u).flatten(1).norm(p=2, dim=1).double().cpu().numpy()
        eps_u, eps_c = predict_eps(model, sched.scale_model_input(torch.cat([x, x]), t_cos),
                                   t_cos, both).float().chunk(2)
        cos = torch.nn.functional.cosine_similarity(eps_u, eps_c - eps_u, dim=1)
        cosines[sl] = cos.flatten(1).mean(dim=1).double().cpu().numpy()
    return Anisotropy(gamma_norm * norms + gamma_cos * cosines, norms, cosines,
                      (int(t_norm), int(t_cos)))
