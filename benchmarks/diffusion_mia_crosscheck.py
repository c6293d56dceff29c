"""Cross-check of Wen et al.'s memorization metric: regurgitate's implementation against the
formulas as written in the authors' public code, same model, prompts and seeds; plus the time
each membership signal and img2img take per image on one thread.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/diffusion_mia_crosscheck.py [--model DIR]

``--model`` is a diffusers Stable-Diffusion-style folder (e.g. the bundled reference-t2i);
without it, a tiny randomly initialised pipeline is built (the test fixture's).

"Authors' formula" below is a re-implementation, written here from reading
YuxinWenRick/diffusion_memorization (``local_sd_pipeline.py``, ``detect_mem.py`` and
``examples/det_mem_viz.ipynb``), not their code: prompts encoded by the pipeline's
``encode_prompt`` (negative prompt "" for the unconditional half, batched as [uncond, text]),
latents from the pipeline's ``prepare_latents``, a DDIM scheduler made from the pipeline's
config, the full denoising loop with ``noise_pred = uncond + g * (text - uncond)``, and at every
step the tracked ``(noise_pred_text - noise_pred_uncond)[j].norm(p=2)`` per image; the metric
is then their notebook's aggregation: ``mean(mean(norms[:num_gens, start:end], axis=0))``.
One difference on purpose: their detect_mem.py seeds torch's global generator once per prompt
and draws all generations' noise in one call; here both sides get one generator per
generation (seed + 7919 * i) so that they start from identical noise.

Prints figures only (nothing is asserted).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

CAPTIONS = ["a red square on blue", "a green circle", "two yellow stripes", "a purple cat",
            "an orange sunset over the sea", "a black dot", "white noise", "a grey cloud"]


def authors_metric(pipe: Any, prompt: str, seeds: list[int], steps: int, guidance: float,
                   start: int, end: int) -> float:
    """Wen et al.'s text_noise_norm, tracked over a full guided DDIM generation and averaged
    as in their notebook (re-implemented from reading their code)."""
    from diffusers import DDIMScheduler

    sched = DDIMScheduler.from_config(pipe.scheduler.config)
    n = len(seeds)
    pos, neg = pipe.encode_prompt(prompt, "cpu", n, True, negative_prompt="")
    embeds = torch.cat([neg, pos])
    sched.set_timesteps(steps, device="cpu")
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    latents = pipe.prepare_latents(n, pipe.unet.config.in_channels, size, size, embeds.dtype,
                                   "cpu", gens, None)
    tracked: list[list[float]] = [[] for _ in range(n)]
    with torch.no_grad():
        for t in sched.timesteps:
            model_in = sched.scale_model_input(torch.cat([latents] * 2), t)
            noise_pred = pipe.unet(model_in, t, encoder_hidden_states=embeds,
                                   return_dict=False)[0]
            uncond, text = noise_pred.chunk(2)
            text = text - uncond
            guided = uncond + guidance * text
            latents = sched.step(guided, t, latents, eta=0.0, return_dict=False)[0]
            for j in range(n):
                tracked[j].append(text[j].norm(p=2).item())
    arr = np.asarray(tracked)[:n, start:end]
    return float(np.mean(np.mean(arr, axis=0)))


def ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(float)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--steps", type=int, default=50, help="DDIM inference steps")
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--gens", type=int, default=4, help="generations per prompt")
    ap.add_argument("--captions", type=int, default=8)
    ap.add_argument("--images", type=int, default=32, help="images per timing batch")
    ap.add_argument("--img2img-steps", type=int, default=25, help="steps at strength 1")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from regurgitate.detectors.diffusion_membership import DiffusionMembershipDetector
    from regurgitate.metrics import diffusion_membership as mia
    from regurgitate.targets.diffusers_target import DiffusersTarget

    tmp = tempfile.TemporaryDirectory()
    model = args.model
    if model is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.images.conftest import save_tiny_sd

        model = save_tiny_sd(Path(tmp.name))
        print("model: tiny randomly initialised SD pipeline (test fixture)")
    else:
        print(f"model: {model}")
    target = DiffusersTarget(str(model), threads=1, batch_size=args.images)
    pipe = target.pipe
    lat = mia.LatentDiffusion.from_pipeline(pipe)
    assert lat is not None
    captions = CAPTIONS[:args.captions]
    uncond = mia.encode_text(lat, [""])
    for k in (1, args.steps):
        ours, theirs = [], []
        for ci, cap in enumerate(captions):
            seeds = [1000 * ci + 7919 * i for i in range(args.gens)]
            cond = mia.encode_text(lat, [cap] * args.gens)
            norms, _ = mia.wen_norm(lat, cond, uncond, seeds, steps=k,
                                    inference_steps=args.steps, guidance=args.guidance)
            ours.append(float(norms.mean()))
            theirs.append(authors_metric(pipe, cap, seeds, args.steps, args.guidance, 0, k))
        a, b = np.asarray(ours), np.asarray(theirs)
        diff = np.abs(a - b)
        print(f"Wen metric, first {k} of {args.steps} steps, {args.gens} generations, "
              f"{len(captions)} captions: max abs diff {diff.max():.3g}, max rel diff "
              f"{(diff / np.abs(b)).max():.3g}, Spearman {spearman(a, b):.4f}, same order "
              f"{bool(np.array_equal(np.argsort(a), np.argsort(b)))}")
        print("  ours   ", " ".join(f"{v:.5f}" for v in a))
        print("  authors", " ".join(f"{v:.5f}" for v in b))
    # time per image of each part, one thread
    from regurgitate.images.imageio import to_base64_png
    from regurgitate.types import GenerationSettings, Prompt

    rng = np.random.default_rng(0)
    n = args.images
    pix = [rng.integers(0, 256, (lat.size, lat.size, 3), dtype=np.uint8) for _ in range(n)]
    det = DiffusionMembershipDetector(lat, signals=("loss",))
    caps = [captions[i % len(captions)] for i in range(n)]
    for signals in (("loss",), ("pia",), ("wen",), ("loss", "pia", "wen")):
        det.signals = signals
        t0 = time.perf_counter()
        det.signal_values(caps, pix, [f"s{i}" for i in range(n)])
        print(f"{'+'.join(signals)} (defaults): "
              f"{1000 * (time.perf_counter() - t0) / n:.1f} ms per image")
    for strength in (0.3, 0.5, 0.7):
        prompts = [Prompt(id=f"p{i}", attack="img2img", text=captions[i % len(captions)],
                          settings=GenerationSettings(seed=i),
                          meta={"steps": args.img2img_steps, "strength": strength,
                                "init_image": to_base64_png(pix[i])}) for i in range(n)]
        t0 = time.perf_counter()
        target.generate(prompts)
        print(f"img2img strength {strength} ({args.img2img_steps} steps at 1.0): "
              f"{1000 * (time.perf_counter() - t0) / n:.1f} ms per image")
    tmp.cleanup()


if __name__ == "__main__":
    main()
