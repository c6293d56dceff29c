"""The anisotropy score (two UNet passes on pure noise) against a hand computation on a tiny
randomly initialised Stable-Diffusion-style pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from regurgitate.errors import ConfigError
from regurgitate.metrics import diffusion_membership as mia
from regurgitate.metrics.anisotropy import anisotropy
from tests.images.conftest import save_tiny_sd


def test_anisotropy_equals_a_hand_computation(tmp_path: Path) -> None:
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(str(save_tiny_sd(tmp_path)),
                                                   safety_checker=None)
    model = mia.LatentDiffusion.from_pipeline(pipe, batch_size=2)
    assert model is not None
    caps = ["a red box", "blue sky", "green"]
    cond = mia.encode_text(model, caps)
    uncond = mia.encode_text(model, [""])
    got = anisotropy(model, cond, uncond, [11, 12, 13], inference_steps=10,
                     gamma_norm=1.0, gamma_cos=2.0)
    sched = DDIMScheduler.from_config(pipe.scheduler.config)
    sched.set_timesteps(10)
    t_norm, t_cos = int(sched.timesteps[0]), int(sched.timesteps[-3])
    assert got.timesteps == (t_norm, t_cos)
    for i, seed in enumerate([11, 12, 13]):
        x = torch.randn((1, 4, 8, 8), generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            def eps(t: int, c: torch.Tensor, x: torch.Tensor = x) -> torch.Tensor:
                return pipe.unet(x, torch.tensor([t]), encoder_hidden_states=c).sample
            g = eps(t_norm, cond[i:i + 1]) - eps(t_norm, uncond)
            norm = float(g.flatten().norm())
            u = eps(t_cos, uncond)
            d = eps(t_cos, cond[i:i + 1]) - u
            cos = float(((u * d).sum(1) / (u.norm(dim=1) * d.norm(dim=1)).clamp_min(1e-8))
                        .mean())
        assert got.norm[i] == pytest.approx(norm, rel=1e-4)
        assert got.cosine[i] == pytest.approx(cos, rel=1e-4, abs=1e-6)
        assert got.score[i] == pytest.approx(norm + 2 * cos, rel=1e-4)
    assert np.all(np.isfinite(got.score))
    with pytest.raises(ConfigError):
        anisotropy(model, cond, uncond, [1, 2])
