"""Membership signals of a latent text-to-image diffusion model (torch, imported lazily).

All three read the model's own noise predictions; each takes a :class:`LatentDiffusion` (the
UNet, VAE, text encoder, tokenizer and scheduler configuration of a Stable-Diffusion-like
pipeline) and returns one number per image or caption. Timesteps ``t`` index the training
schedule (0 .. ``num_train_timesteps - 1``); ``abar_t`` is its cumulative product of
``1 - beta``; ``x_0`` is the VAE latent of an image (the mean of the encoder's distribution,
times the VAE's scaling factor) and ``c`` the text encoder's states for its caption.

* :func:`loss_at_t` (Matsumoto et al., 2023, "Membership inference attacks against diffusion
  models"): ``mean((eps - eps_theta(x_t, t, c))**2)`` with ``x_t = sqrt(abar_t) x_0 +
  sqrt(1 - abar_t) eps`` and ``eps`` seeded Gaussian noise, averaged over ``draws`` noises.
  Members have lower loss.
* :func:`pia` (Kong et al., ICLR 2024, proximal initialization): ``eps_0 = eps_theta(x_0, 0, c)``,
  then ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps_0`` and the score
  ``sum(|eps_0 - eps_theta(x_t, t, c)|**p)``, p = 4 as in the authors' code (their
  ``distance``: the p-th powers summed, no root). Deterministic; members score lower.
* :func:`wen_norm` (Wen et al., ICLR 2024, "Detecting, explaining, and mitigating memorization
  in diffusion models"): the magnitude of the text-conditional noise prediction
  ``||eps_theta(x_t, c) - eps_theta(x_t, "")||_2`` over the whole latent, along the DDIM
  trajectory that classifier-free guidance (scale ``guidance``) takes from seeded noise,
  averaged over the first ``steps`` of ``inference_steps`` denoising steps; the caller averages
  over generations. ``steps = 1`` is their "one step" detector. Needs no training image;
  memorized captions score higher.

Noise is drawn per image with ``torch.Generator().manual_seed(seed)`` in the latent's shape
(1 x C x h x w), on the CPU, so a value depends only on its image, caption and seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from regurgitate.errors import ConfigError
from regurgitate.runtimes.torch_deps import diffusion_torch

#: the loss and PIA query one fixed timestep of the training schedule; on the bundled
#: reference-t2i, t = 200 of 1000 was at or near the best of 50..500 for both
#: (benchmarks/diffusion_mia_sweep.py, docs/images.md)
DEFAULT_T = 200
DEFAULT_PIA_P = 4
#: Wen et al.'s detection runs DDIM with 50 steps and guidance 7.5 (their detect_mem.py)
DEFAULT_WEN_INFERENCE_STEPS = 50
DEFAULT_WEN_GUIDANCE = 7.5


def _torch() -> Any:
    return diffusion_torch("the diffusion membership signals")


@dataclass(frozen=True)
class LatentDiffusion:
    """The parts of a Stable-Diffusion-like pipeline the signals query."""

    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler_config: dict[str, Any]
    device: str = "cpu"
    batch_size: int = 16

    @classmethod
    def from_pipeline(cls, pipe: Any, device: str = "cpu",
                      batch_size: int = 16) -> LatentDiffusion | None:
        """The parts of ``pipe``, or None when it is not a latent text-to-image pipeline."""
        parts: list[Any] = [getattr(pipe, n, None) for n in
                            ("unet", "vae", "text_encoder", "tokenizer", "scheduler")]
        if any(p is None for p in parts):
            return None
        unet, vae, text_encoder, tokenizer, scheduler = parts
        if getattr(unet.config, "cross_attention_dim", None) is None:
            return None
        return cls(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                   scheduler_config=dict(scheduler.config), device=device,
                   batch_size=max(1, int(batch_size)))

    @property
    def vae_scale_factor(self) -> int:
        return int(2 ** (len(self.vae.config.block_out_channels) - 1))

    @property
    def size(self) -> int:
        """The pixel size the model generates (UNet sample size x VAE scale factor)."""
        sample = self.unet.config.sample_size
        sample = sample[0] if isinstance(sample, (tuple, list)) else sample
        return int(sample) * self.vae_scale_factor

    @property
    def train_timesteps(self) -> int:
        return int(self.scheduler_config.get("num_train_timesteps", 1000))

    @property
    def prediction_type(self) -> str:
        return str(self.scheduler_config.get("prediction_type", "epsilon"))

    def alphas_cumprod(self) -> Any:
        from diffusers import DDPMScheduler

        return DDPMScheduler.from_config(self.scheduler_config).alphas_cumprod

    @property
    def dtype(self) -> Any:
        return next(self.unet.parameters()).dtype


def check_timestep(model: LatentDiffusion, t: int) -> int:
    if not 0 < int(t) < model.train_timesteps:
        raise ConfigError(f"timestep {t} is outside the model's schedule "
                          f"(1 .. {model.train_timesteps - 1})")
    return int(t)


def encode_text(model: LatentDiffusion, captions: Sequence[str]) -> Any:
    """The text encoder's last hidden states for ``captions`` (padded to the tokenizer's
    length, as Stable Diffusion's pipelines encode prompts)."""
    torch = _torch()
    tok = model.tokenizer(list(captions), padding="max_length",
                          max_length=model.tokenizer.model_max_length, truncation=True,
                          return_tensors="pt")
    with torch.inference_mode():
        mask = None
        if getattr(model.text_encoder.config, "use_attention_mask", False):
            mask = tok.attention_mask.to(model.device)
        out = model.text_encoder(tok.input_ids.to(model.device), attention_mask=mask)
    return out[0].to(model.dtype)


def encode_images(model: LatentDiffusion, pixels: Sequence[np.ndarray]) -> Any:
    """VAE latents (distribution mean x scaling factor) of uint8 H x W x 3 images, resized to
    the model's size first."""
    torch = _torch()
    from regurgitate.images.imageio import resize

    arr = np.stack([resize(np.asarray(p, dtype=np.uint8), model.size) for p in pixels])
    x = torch.from_numpy(arr).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
    x = x.to(model.device, model.dtype)
    scale = float(getattr(model.vae.config, "scaling_factor", 1.0))
    with torch.inference_mode():
        dist = model.vae.encode(x).latent_dist
    return dist.mean * scale


def noise_like(latents: Any, seeds: Sequence[int]) -> Any:
    """One seeded standard-normal draw per row of ``latents`` (CPU generator, then moved)."""
    torch = _torch()
    shape = (1, *latents.shape[1:])
    draws = [torch.randn(shape, generator=torch.Generator(device="cpu").manual_seed(int(s)),
                         dtype=torch.float32) for s in seeds]
    return torch.cat(draws).to(latents.device, latents.dtype)


def predict_eps(model: LatentDiffusion, x: Any, t: Any, cond: Any) -> Any:
    """The UNet's noise prediction at timestep(s) ``t`` (v-predictions converted to eps)."""
    torch = _torch()
    steps = torch.as_tensor(t, device=x.device).long().reshape(-1)
    if steps.numel() == 1:
        steps = steps.expand(x.shape[0])
    with torch.inference_mode():
        out = model.unet(x, steps, encoder_hidden_states=cond, return_dict=False)[0]
    kind = model.prediction_type
    if kind == "epsilon":
        return out
    abar = model.alphas_cumprod().to(x.device, x.dtype)[steps].view(-1, 1, 1, 1)
    if kind == "v_prediction":
        return abar.sqrt() * out + (1 - abar).sqrt() * x
    raise ConfigError(f"the scheduler's prediction type {kind!r} is not supported here",
                      hint="the membership signals need an epsilon or v-prediction model")


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(i, min(n, i + size)) for i in range(0, n, size)]


def loss_at_t(model: LatentDiffusion, latents: Any, cond: Any, t: int,
              seeds: Sequence[Sequence[int]]) -> np.ndarray:
    """Matsumoto et al.'s loss: per image, the mean over its noise draws ``seeds[i]`` of
    ``mean((eps - eps_theta(x_t, t, c))**2)``."""
    t = check_timestep(model, t)
    abar = float(model.alphas_cumprod()[t])
    out = np.zeros(latents.shape[0], dtype=np.float64)
    draws = len(seeds[0]) if len(seeds) else 0
    if any(len(s) != draws for s in seeds) or draws < 1:
        raise ConfigError("every image needs the same number (>= 1) of noise draws")
    for d in range(draws):
        for sl in _chunks(latents.shape[0], model.batch_size):
            x0 = latents[sl]
            eps = noise_like(x0, [s[d] for s in seeds[sl]])
            xt = abar ** 0.5 * x0 + (1 - abar) ** 0.5 * eps
            pred = predict_eps(model, xt, t, cond[sl])
            err = ((eps.float() - pred.float()) ** 2).flatten(1).mean(dim=1)
            out[sl] += err.cpu().double().numpy()
    return out / draws


def pia(model: LatentDiffusion, latents: Any, cond: Any, t: int,
        p: int = DEFAULT_PIA_P) -> np.ndarray:
    """PIA's distance per image: ``sum(|eps_0 - eps_theta(x_t, t, c)|**p)`` with
    ``eps_0 = eps_theta(x_0, 0, c)`` and ``x_t`` built from ``eps_0`` (no fresh noise)."""
    t = check_timestep(model, t)
    abar = float(model.alphas_cumprod()[t])
    out = np.zeros(latents.shape[0], dtype=np.float64)
    for sl in _chunks(latents.shape[0], model.batch_size):
        x0 = latents[sl]
        eps0 = predict_eps(model, x0, 0, cond[sl])
        xt = abar ** 0.5 * x0 + (1 - abar) ** 0.5 * eps0
        back = predict_eps(model, xt, t, cond[sl])
        dist = ((eps0.float() - back.float()).abs() ** p).flatten(1).sum(dim=1)
        out[sl] = dist.cpu().double().numpy()
    return out


def latent_shape(model: LatentDiffusion) -> tuple[int, int, int]:
    side = model.size // model.vae_scale_factor
    return int(model.unet.config.in_channels), side, side


def wen_norm(model: LatentDiffusion, cond: Any, uncond: Any, seeds: Sequence[int],
             steps: int = 1, inference_steps: int = DEFAULT_WEN_INFERENCE_STEPS,
             guidance: float = DEFAULT_WEN_GUIDANCE) -> tuple[np.ndarray, list[int]]:
    """Wen et al.'s text-conditional noise magnitude, one value per row of ``cond`` (row i
    starts from the noise of ``seeds[i]``): the mean over the first ``steps`` DDIM steps of
    ``||eps_theta(x_t, c) - eps_theta(x_t, uncond)||_2``, the latents moving by the guided
    prediction ``eps_u + guidance * (eps_c - eps_u)``. Also returns the timesteps used."""
    torch = _torch()
    from diffusers import DDIMScheduler

    if not 1 <= steps <= inference_steps:
        raise ConfigError(f"wen steps must be within 1 .. {inference_steps}, got {steps}")
    n = cond.shape[0]
    shape = latent_shape(model)
    norms = np.zeros(n, dtype=np.float64)
    used: list[int] = []
    for sl in _chunks(n, model.batch_size):
        # predictions are converted to eps, so the DDIM steps read them as eps
        sched = DDIMScheduler.from_config(model.scheduler_config, prediction_type="epsilon")
        sched.set_timesteps(inference_steps, device=model.device)
        base = torch.empty((sl.stop - sl.start, *shape), device=model.device, dtype=model.dtype)
        latents = noise_like(base, seeds[sl]) * sched.init_noise_sigma
        c = cond[sl]
        u = uncond[:1].expand(c.shape[0], *uncond.shape[1:]) if uncond.shape[0] == 1 \
            else uncond[sl]
        total = torch.zeros(c.shape[0], dtype=torch.float64)
        used = []
        for t in sched.timesteps[:steps]:
            x_in = sched.scale_model_input(torch.cat([latents, latents]), t)
            pred = predict_eps(model, x_in, t, torch.cat([u, c]))
            eps_u, eps_c = pred.chunk(2)
            diff = eps_c - eps_u
            total += diff.float().flatten(1).norm(p=2, dim=1).double().cpu()
            used.append(int(t))
            with torch.inference_mode():
                latents = sched.step(eps_u + guidance * diff, t, latents,
                                     return_dict=False)[0]
        norms[sl] = (total / steps).numpy()
    return norms, used
