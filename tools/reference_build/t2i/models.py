"""The tiny Stable-Diffusion-style stack of the text-to-image reference, and its pipeline folder.

Sizes: a ``UNet2DConditionModel`` (32/64/64 channels, one layer per block, cross-attention
width 64) on 8x8x4 latents, an ``AutoencoderKL`` (16/32/64 channels, 32x32 RGB <-> 8x8x4) and a
``CLIPTextModel`` (three layers, width 64) over the caption tokenizer of
:mod:`tools.reference_build.t2i.tokenizer`. The folder is a standard diffusers
``StableDiffusionPipeline`` (no safety checker), its weights stored as fp16 safetensors to stay
small (the text encoder's as float32, see :func:`save_pipeline`); loaded on a CPU it computes
in float32.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

IMAGE_SIZE = 32
LATENT_SIZE = 8
LATENT_CHANNELS = 4
MAX_TOKENS = 20  # captions are at most 14 tokens with BOS and EOS
TEXT_WIDTH = 64


def make_vae() -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=LATENT_CHANNELS,
        down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(16, 32, 64), layers_per_block=1, norm_num_groups=8,
        sample_size=IMAGE_SIZE)


def make_unet() -> Any:
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=LATENT_SIZE, in_channels=LATENT_CHANNELS, out_channels=LATENT_CHANNELS,
        layers_per_block=1, block_out_channels=(32, 64, 64),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=TEXT_WIDTH, attention_head_dim=8, norm_num_groups=8)


def make_text_encoder(vocab_size: int) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(vocab_size=vocab_size, hidden_size=TEXT_WIDTH, intermediate_size=128,
                            num_hidden_layers=3, num_attention_heads=4,
                            max_position_embeddings=MAX_TOKENS, projection_dim=TEXT_WIDTH,
                            bos_token_id=0, eos_token_id=1, pad_token_id=1)
    return CLIPTextModel(config)


def train_scheduler() -> Any:
    """Stable Diffusion's DDPM training schedule (scaled-linear betas, epsilon prediction)."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
                         beta_schedule="scaled_linear", clip_sample=False)


def save_pipeline(vae: Any, text_encoder: Any, tokenizer: Any, unet: Any, out: Path,
                  extra: dict[str, Any], tokenizer_dir: Path) -> Path:
    """Write the pipeline folder (fp16 weights, a DDIM scheduler) and ``training.json``; the
    tokenizer folder is the one built offline (``vocab.json`` + ``merges.txt``), copied."""
    import copy
    import shutil

    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    halves = [copy.deepcopy(m).to(torch.float16) for m in (vae, text_encoder, unet)]
    # transformers loads a checkpoint in its stored dtype (diffusers in float32): a float16 text
    # encoder next to a float32 UNet fails, so it is stored as float32 (of fp16-rounded values)
    halves[1] = halves[1].to(torch.float32)
    scheduler = DDIMScheduler.from_config(train_scheduler().config, set_alpha_to_one=False,
                                          steps_offset=1)
    pipe: Any = StableDiffusionPipeline(vae=halves[0], text_encoder=halves[1], tokenizer=tokenizer,
                                   unet=halves[2], scheduler=scheduler, safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    out.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(out, safe_serialization=True)
    shutil.rmtree(out / "tokenizer")
    shutil.copytree(tokenizer_dir, out / "tokenizer")
    (out / "training.json").write_text(json.dumps(extra, indent=1) + "\n")
    return out


def load_pipeline(folder: Path, threads: int | None = None) -> Any:
    """The pipeline in float32 on the CPU, progress bars off."""
    import torch
    from diffusers import DiffusionPipeline

    if threads is not None:
        torch.set_num_threads(threads)
    pipe = DiffusionPipeline.from_pretrained(str(folder), low_cpu_mem_usage=False)
    for part in (pipe.unet, pipe.vae, pipe.text_encoder):  # float32 already; make it certain
        if part.dtype != torch.float32:
            part.to(torch.float32)
    pipe.set_progress_bar_config(disable=True)
    return pipe
