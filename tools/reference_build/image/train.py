"""Train the tiny class-conditioned diffusion model of the image reference (CPU, minutes).

A diffusers ``UNet2DModel`` (16x16 RGB, one class per caption) learns to predict the noise of a
``DDPMScheduler`` on the training stream, where planted images appear 100 or 10 times. Seeds fix
the initial weights, the batches and the noise, so a rebuild on the same software reproduces it.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from regurgitate.reference.image.dataset import ImageSet


@dataclass(frozen=True)
class DiffusionTrainSpec:
    steps: int = 3500  # length of the learning-rate schedule
    stop_after: int | None = 1500  # stop early, at this step of that schedule
    batch_size: int = 64
    lr: float = 2e-3
    warmup: int = 100
    seed: int = 7
    threads: int = 1
    log_every: int = 50
    checkpoint_every: int = 500
    channels: tuple[int, ...] = (16, 32, 64)
    train_timesteps: int = 1000


def unet_config(spec: DiffusionTrainSpec, size: int, classes: int) -> dict[str, Any]:
    n = len(spec.channels)
    return {
        "sample_size": size, "in_channels": 3, "out_channels": 3, "layers_per_block": 1,
        "block_out_channels": list(spec.channels), "norm_num_groups": 8,
        "down_block_types": ["DownBlock2D"] * (n - 1) + ["AttnDownBlock2D"],
        "up_block_types": ["AttnUpBlock2D"] + ["UpBlock2D"] * (n - 1),
        "num_class_embeds": classes, "attention_head_dim": 16,
    }


def save_model(unet: Any, scheduler: Any, captions: list[str], out: Path,
               extra: dict[str, Any]) -> None:
    """The model folder: ``unet/`` (fp16 safetensors), ``scheduler/``, ``class_labels.json``."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    half = type(unet).from_config(unet.config)
    half.load_state_dict(unet.state_dict())
    half.to(torch.float16).save_pretrained(out / "unet", safe_serialization=True)
    scheduler.save_pretrained(out / "scheduler")
    (out / "class_labels.json").write_text(json.dumps({"captions": captions}, indent=1) + "\n")
    (out / "training.json").write_text(json.dumps(extra, indent=1) + "\n")


def train_diffusion(images: ImageSet, out: Path, spec: DiffusionTrainSpec,
                    captions: list[str]) -> dict[str, Any]:
    """Train and save the model into ``out``; returns the training record."""
    import torch
    from diffusers import DDPMScheduler, UNet2DModel

    torch.manual_seed(spec.seed)
    torch.set_num_threads(spec.threads)
    rng = np.random.default_rng(spec.seed)
    stream, labels = images.training_stream()
    data = torch.from_numpy(images.pixels).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    size = int(images.pixels.shape[1])
    unet: Any = UNet2DModel(**unet_config(spec, size, len(captions)))
    scheduler: Any = DDPMScheduler(num_train_timesteps=spec.train_timesteps,
                                   beta_schedule="squaredcos_cap_v2")
    params = sum(p.numel() for p in unet.parameters())
    opt = torch.optim.AdamW(unet.parameters(), lr=spec.lr, weight_decay=0.0)

    def lr_at(step: int) -> float:
        if step < spec.warmup:
            return spec.lr * (step + 1) / spec.warmup
        frac = (step - spec.warmup) / max(1, spec.steps - spec.warmup)
        return spec.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))

    record: dict[str, Any] = {"spec": asdict(spec), "parameters": params,
                              "stream_size": len(stream), "losses": []}
    print(f"training {params:,} parameters on a stream of {len(stream)} images", flush=True)
    t0 = time.perf_counter()
    order = rng.permutation(len(stream))
    pos = 0
    running = 0.0
    last = spec.steps if spec.stop_after is None else min(spec.steps, spec.stop_after)
    for step in range(last):
        if pos + spec.batch_size > len(order):
            order, pos = rng.permutation(len(stream)), 0
        pick = order[pos:pos + spec.batch_size]
        pos += spec.batch_size
        x0 = data[torch.from_numpy(stream[pick])]
        y = torch.from_numpy(labels[pick])
        noise = torch.randn_like(x0)
        t = torch.randint(0, spec.train_timesteps, (len(pick),))
        xt = scheduler.add_noise(x0, noise, t)
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        loss = torch.nn.functional.mse_loss(unet(xt, t, class_labels=y).sample, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        running += float(loss)
        if (step + 1) % spec.log_every == 0:
            avg = running / spec.log_every
            running = 0.0
            record["losses"].append([step + 1, round(avg, 5)])
            el = time.perf_counter() - t0
            print(f"step {step + 1}/{spec.steps} loss {avg:.4f} {el:.0f}s "
                  f"({el / (step + 1):.3f}s/step)", flush=True)
        if spec.checkpoint_every and (step + 1) % spec.checkpoint_every == 0:
            record["seconds"] = round(time.perf_counter() - t0, 1)
            record["steps_done"] = step + 1
            save_model(unet, scheduler, captions, out, record)
    record["seconds"] = round(time.perf_counter() - t0, 1)
    record["steps_done"] = last
    save_model(unet, scheduler, captions, out, record)
    return record
