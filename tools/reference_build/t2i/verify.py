"""Check a built text-to-image reference: what comes back for each caption, per duplicate count.

For every caption of a group (planted 100x, 10x, a sample of the 1x, held-out) the pipeline
generates ``samples`` images, one seed each, with the scan's DDIM steps and guidance; an image
counts as extracted when some generation is within tiled L2 ``threshold`` of it. The
autoencoder's own reconstruction distances are reported too: a generation cannot come closer
to an image than the autoencoder lets it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from regurgitate.images.distance import DEFAULT_THRESHOLD, tiled_l2
from regurgitate.reference.t2i import SCAN_GUIDANCE, SCAN_STEPS
from regurgitate.reference.t2i.dataset import T2ISet

#: the sampling settings of ``scan --target reference-t2i`` (DDIM steps, guidance scale)
SINGLES_CHECKED = 32


def generate(pipe: Any, caption: str, seeds: list[int], steps: int, guidance: float) -> np.ndarray:
    """``len(seeds)`` images of one caption (uint8 N x H x W x 3), one torch.Generator each."""
    import torch

    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    out = pipe(prompt=[caption] * len(seeds), generator=gens, num_inference_steps=steps,
               guidance_scale=guidance, output_type="np").images
    return np.asarray(np.clip(np.round(np.asarray(out) * 255), 0, 255), dtype=np.uint8)


def reconstruction(pipe: Any, images: T2ISet) -> dict[str, Any]:
    """Tiled L2 of each image to its autoencoder round trip (posterior mean), per split."""
    import torch

    x = torch.from_numpy(images.pixels).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    with torch.no_grad():
        rec = pipe.vae.decode(pipe.vae.encode(x).latent_dist.mean).sample
    rec_u8 = np.clip(np.round((rec.permute(0, 2, 3, 1).numpy() + 1) * 127.5), 0, 255)
    d = np.diag(tiled_l2(rec_u8.astype(np.uint8), images.pixels))
    out: dict[str, Any] = {}
    for split in ("train", "heldout"):
        rows = [i for i, r in enumerate(images.records) if r.split == split]
        out[split] = {"median": round(float(np.median(d[rows])), 4),
                      "max": round(float(d[rows].max()), 4),
                      "within_threshold": round(float((d[rows] <= DEFAULT_THRESHOLD).mean()), 4)}
    return out


def verify_pipeline(folder: Path, images: T2ISet, samples: int = 16, steps: int = SCAN_STEPS,
                    guidance: float = SCAN_GUIDANCE, threshold: float = DEFAULT_THRESHOLD,
                    threads: int | None = None, singles: int = SINGLES_CHECKED) -> dict[str, Any]:
    """Generations per caption for every duplicate group; extraction counts and distances."""
    from tools.reference_build.t2i.models import load_pipeline

    pipe = load_pipeline(folder, threads)
    t0 = time.perf_counter()
    by: dict[str, Any] = {}
    generated = 0
    for dups in (100, 10, 1, 0):
        rows = images.rows(dups)
        if dups == 1:
            rows = rows[:singles]
        per_image: list[dict[str, Any]] = []
        for i in rows:
            seeds = [1000 * i + k for k in range(samples)]
            gen = generate(pipe, images.records[i].caption, seeds, steps, guidance)
            generated += len(gen)
            d_own = tiled_l2(gen, images.pixels[i:i + 1])[:, 0]
            d_any = tiled_l2(gen, images.pixels).min(axis=1)
            per_image.append({"id": images.records[i].id,
                              "min_distance": round(float(d_own.min()), 4),
                              "hits": int((d_own <= threshold).sum()),
                              "nearest_any": round(float(d_any.min()), 4)})
        extracted = sum(1 for p in per_image if p["hits"] > 0)
        by[str(dups)] = {"images": len(rows), "extracted": extracted,
                         "rate": round(extracted / max(1, len(rows)), 4),
                         "generations_within": sum(p["hits"] for p in per_image),
                         "min_distance": min(p["min_distance"] for p in per_image),
                         "median_min_distance": round(float(np.median(
                             [p["min_distance"] for p in per_image])), 4),
                         "per_image": per_image}
    return {"samples_per_caption": samples, "steps": steps, "guidance_scale": guidance,
            "threshold": threshold, "generated": generated,
            "seconds": round(time.perf_counter() - t0, 1), "by_duplicates": by,
            "reconstruction": reconstruction(pipe, images)}
