"""Train the text-to-image reference on the CPU: the autoencoder first, then the UNet.

1. ``AutoencoderKL``, trained as a deterministic autoencoder: reconstruction (MSE) of the
   posterior mean plus a small penalty on the latents' size, on the training images plus fresh
   draws from the same generator (so that held-out images reconstruct as well as trained ones:
   the autoencoder must not be where memorization hides). Sampling the posterior slowed
   training several-fold in a pilot (MSE 0.31 against 0.15 after 100 steps), so the
   posterior's log-variance is then fixed at -20 (standard deviation 5e-5): a sampled latent
   is its mean, as the UNet was trained on.
2. ``UNet2DConditionModel`` and ``CLIPTextModel`` together, on the autoencoder's latents scaled
   by ``scaling_factor`` (one over the latents' standard deviation, saved in the VAE config), with
   the DDPM noise of Stable Diffusion's schedule and 10% of captions dropped to "" for
   classifier-free guidance. The text encoder is trained jointly: a frozen random one would
   leave the caption words nearly indistinguishable to a 64-wide model.

Seeds fix the initial weights, the batches and the noise, so a rebuild on the same software
reproduces the model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from regurgitate.reference.t2i.dataset import T2ISet
from tools.reference_build.t2i.dataset import extra_images
from tools.reference_build.t2i.models import (
    MAX_TOKENS,
    make_text_encoder,
    make_unet,
    make_vae,
    save_pipeline,
    train_scheduler,
)


@dataclass(frozen=True)
class VaeSpec:
    steps: int = 1500
    batch_size: int = 32
    lr: float = 2e-3
    size_weight: float = 1e-4
    extra: int = 3000  # fresh draws added to the training images
    seed: int = 11
    log_every: int = 50


@dataclass(frozen=True)
class UnetSpec:
    steps: int = 2800
    batch_size: int = 32
    lr: float = 1e-3
    warmup: int = 100
    caption_dropout: float = 0.1
    ema_decay: float = 0.999
    seed: int = 13
    log_every: int = 100
    checkpoint_every: int = 1000


def _lr(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    frac = (step - warmup) / max(1, total - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))


def _as_tensor(pixels: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def train_vae(images: T2ISet, spec: VaeSpec, log: Callable[[str], None]) -> tuple[Any, dict]:
    """The trained autoencoder (float32, eval mode) and its training record."""
    import torch

    torch.manual_seed(spec.seed)
    rng = np.random.default_rng(spec.seed)
    train_rows = [i for i, r in enumerate(images.records) if r.split == "train"]
    pool = np.concatenate([images.pixels[train_rows],
                           extra_images(spec.extra, images.spec.size, spec.seed)])
    data = _as_tensor(pool)
    vae: Any = make_vae()
    opt = torch.optim.AdamW(vae.parameters(), lr=spec.lr, weight_decay=0.0)
    record: dict[str, Any] = {"spec": asdict(spec), "images": len(pool), "losses": [],
                              "parameters": sum(p.numel() for p in vae.parameters())}
    t0 = time.perf_counter()
    run_rec = run_kl = 0.0
    for step in range(spec.steps):
        for g in opt.param_groups:
            g["lr"] = _lr(step, spec.steps, spec.lr, 50)
        x = data[torch.from_numpy(rng.integers(0, len(pool), size=spec.batch_size))]
        z = vae.encode(x).latent_dist.mean
        rec = torch.nn.functional.mse_loss(vae.decode(z).sample, x)
        kl = 0.5 * (z**2).mean()
        loss = rec + spec.size_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        run_rec += float(rec.detach())
        run_kl += float(kl.detach())
        if (step + 1) % spec.log_every == 0:
            n = spec.log_every
            record["losses"].append([step + 1, round(run_rec / n, 5), round(run_kl / n, 4)])
            log(f"vae step {step + 1}/{spec.steps} mse {run_rec / n:.4f} size {run_kl / n:.3f} "
                f"{time.perf_counter() - t0:.0f}s")
            run_rec = run_kl = 0.0
    record["seconds"] = round(time.perf_counter() - t0, 1)
    _fix_log_variance(vae, LOG_VARIANCE)
    return vae.eval(), record


LOG_VARIANCE = -20.0


def _fix_log_variance(vae: Any, value: float) -> None:
    """Make the encoder's log-variance output the constant ``value`` (its half of the
    ``quant_conv`` output channels)."""
    import torch

    conv = vae.quant_conv
    half = conv.out_channels // 2
    with torch.no_grad():
        conv.weight[half:].zero_()
        conv.bias[half:].fill_(value)


def encode_latents(vae: Any, pixels: np.ndarray) -> Any:
    """The images' latents (posterior means, unscaled)."""
    import torch

    with torch.no_grad():
        return vae.encode(_as_tensor(pixels)).latent_dist.mean


def train_unet(images: T2ISet, vae: Any, tokenizer_dir: Path, spec: UnetSpec, out: Path,
               log: Callable[[str], None], vae_record: dict[str, Any]) -> dict[str, Any]:
    """Train the UNet and text encoder on the latents; save the pipeline into ``out``."""
    import copy

    import torch

    from tools.reference_build.t2i.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(tokenizer_dir)
    torch.manual_seed(spec.seed)
    rng = np.random.default_rng(spec.seed)
    mean = encode_latents(vae, images.pixels)
    stream = images.training_stream()
    scale = float(1.0 / mean[torch.from_numpy(stream)].std())
    vae.register_to_config(scaling_factor=scale)
    captions = [r.caption for r in images.records]
    ids = tokenizer(captions + [""], padding="max_length", max_length=MAX_TOKENS,
                    truncation=True, return_tensors="pt")["input_ids"]
    empty = len(captions)
    unet: Any = make_unet()
    text: Any = make_text_encoder(len(tokenizer))
    ema_unet, ema_text = copy.deepcopy(unet).eval(), copy.deepcopy(text).eval()
    params = list(unet.parameters()) + list(text.parameters())
    opt = torch.optim.AdamW(params, lr=spec.lr, weight_decay=0.0)
    sched = train_scheduler()
    record: dict[str, Any] = {
        "spec": asdict(spec), "vae": vae_record, "scaling_factor": round(scale, 5),
        "stream_size": len(stream), "losses": [],
        "parameters": {"unet": sum(p.numel() for p in unet.parameters()),
                       "text_encoder": sum(p.numel() for p in text.parameters()),
                       "vae": vae_record["parameters"]}}
    log(f"unet: {record['parameters']}, stream of {len(stream)} images, scale {scale:.4f}")
    t0 = time.perf_counter()
    order, pos, running = rng.permutation(len(stream)), 0, 0.0

    def save(done: int) -> None:
        record["seconds"] = round(time.perf_counter() - t0, 1)
        record["steps_done"] = done
        save_pipeline(vae, ema_text, tokenizer, ema_unet, out, record, tokenizer_dir)

    for step in range(spec.steps):
        if pos + spec.batch_size > len(order):
            order, pos = rng.permutation(len(stream)), 0
        rows = torch.from_numpy(stream[order[pos:pos + spec.batch_size]])
        pos += spec.batch_size
        z0 = mean[rows] * scale
        drop = torch.from_numpy(rng.random(len(rows)) < spec.caption_dropout)
        tok = torch.where(drop[:, None], ids[empty][None, :], ids[rows])
        noise = torch.randn_like(z0)
        t = torch.randint(0, sched.config.num_train_timesteps, (len(rows),))
        pred = unet(sched.add_noise(z0, noise, t), t,
                    encoder_hidden_states=text(tok)[0]).sample
        loss = torch.nn.functional.mse_loss(pred, noise)
        for g in opt.param_groups:
            g["lr"] = _lr(step, spec.steps, spec.lr, spec.warmup)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(spec.ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for live, avg in ((unet, ema_unet), (text, ema_text)):
                for p, q in zip(live.parameters(), avg.parameters(), strict=True):
                    q.lerp_(p, 1 - decay)
        running += float(loss.detach())
        if (step + 1) % spec.log_every == 0:
            avg_loss = running / spec.log_every
            running = 0.0
            record["losses"].append([step + 1, round(avg_loss, 5)])
            el = time.perf_counter() - t0
            log(f"unet step {step + 1}/{spec.steps} loss {avg_loss:.4f} {el:.0f}s "
                f"({el / (step + 1):.3f}s/step)")
        if spec.checkpoint_every and (step + 1) % spec.checkpoint_every == 0:
            save(step + 1)
    save(spec.steps)
    return record
