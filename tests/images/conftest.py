"""Small image fixtures drawn with numpy, written as real PNG files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def random_images(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """Smooth random pictures (low-frequency colour fields), far apart from each other."""
    rng = np.random.default_rng(seed)
    knots = rng.integers(0, 256, size=(n, 4, 4, 3)).astype(np.uint8)
    return np.stack([np.asarray(Image.fromarray(k).resize((size, size), Image.Resampling.BILINEAR))
                     for k in knots])


@pytest.fixture()
def image_folder(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """12 PNGs with a captions.jsonl; captions 'cat' x5, 'dog' x4 (one image counted 3x)."""
    folder = tmp_path / "train"
    folder.mkdir()
    pix = random_images(12)
    rows = []
    for i, p in enumerate(pix):
        name = f"img{i:02d}.png"
        Image.fromarray(p).save(folder / name)
        caption = "a cat" if i < 5 else "a dog" if i < 9 else f"thing {i}"
        rec = {"file": name, "caption": caption, "id": f"t{i}"}
        if i == 5:
            rec["count"] = 3
        rows.append(json.dumps(rec))
    (folder / "captions.jsonl").write_text("\n".join(rows) + "\n")
    return folder, pix


def save_tiny_sd(out: Path, seed: int = 0) -> Path:
    """A randomly initialised Stable-Diffusion-style pipeline (32x32 RGB, 8x8x4 latents,
    CLIP text encoder, cross-attention UNet, DDIM), saved as a diffusers folder: the same
    classes as any SD checkpoint, built from configs in a second."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(16, 32), norm_num_groups=8, cross_attention_dim=16,
        attention_head_dim=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4,
                        block_out_channels=(8, 16, 16), norm_num_groups=8,
                        layers_per_block=1,
                        down_block_types=("DownEncoderBlock2D",) * 3,
                        up_block_types=("UpDecoderBlock2D",) * 3, sample_size=32)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2}
    for i, w in enumerate("abcdefghijklmnopqrstuvwxyz"):
        vocab[w + "</w>"] = 3 + i
        vocab[w] = 29 + i
    folder = out / "tok"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"),
                              model_max_length=16)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=len(vocab), hidden_size=16,
                                        intermediate_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, max_position_embeddings=16,
                                        projection_dim=16, bos_token_id=0, eos_token_id=1,
                                        pad_token_id=1))
    sched = DDIMScheduler(num_train_timesteps=1000, beta_schedule="scaled_linear",
                          beta_start=0.00085, beta_end=0.012, clip_sample=False,
                          set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet,
                                   scheduler=sched, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    path = out / "tiny-sd"
    pipe.save_pretrained(path)
    return path
