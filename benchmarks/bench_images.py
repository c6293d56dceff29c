"""Image-side figures: images generated per second by the bundled diffusion model, index build
time per 1,000 training images, and query time per generated image.

    nice -n 15 python benchmarks/bench_images.py [--images 2000] [--size 64] [--gens 128]

Prints figures only (nothing is asserted). Training images are smooth random pictures drawn
with numpy; queries are half near-copies of indexed images and half new pictures.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from regurgitate.images.index import ImageIndex, IndexSettings, build_image_index
from regurgitate.images.records import SourceImage


def pictures(n: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    knots = rng.integers(0, 256, size=(n, 6, 6, 3)).astype(np.uint8)
    return np.stack([np.asarray(Image.fromarray(k).resize((size, size),
                                                          Image.Resampling.BILINEAR))
                     for k in knots])


def bench_generation(gens: int, steps: int, batch: int, threads: int) -> None:
    import torch

    from regurgitate.reference.image.paths import model_dir
    from regurgitate.targets.diffusers_target import DiffusersTarget
    from regurgitate.types import GenerationSettings, Prompt

    target = DiffusersTarget(str(model_dir()), batch_size=batch, steps=steps, threads=threads)
    prompts = [Prompt(id=str(i), attack="bench", text=target.captions[i % len(target.captions)],
                      settings=GenerationSettings(seed=i), meta={"steps": steps})
               for i in range(gens)]
    target.generate(prompts[:batch])  # warm-up
    t0 = time.perf_counter()
    out = target.generate(prompts)
    dt = time.perf_counter() - t0
    assert all(g.ok for g in out)
    print(f"generation: {gens} images of 16x16, {steps} DDIM steps, batch {batch}, "
          f"{torch.get_num_threads()} thread(s): "
          f"{dt:.1f} s, {gens / dt:.1f} images/s")


def bench_index(n: int, size: int, queries: int) -> None:
    train = pictures(n, size, seed=1)
    rng = np.random.default_rng(2)
    qs = [np.clip(train[i].astype(int) + rng.integers(-8, 9, train[i].shape), 0, 255)
          .astype(np.uint8) for i in range(queries // 2)]
    qs += list(pictures(queries - len(qs), size, seed=3))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        build_image_index((SourceImage(id=str(i), caption=f"c{i % 50}", pixels=p)
                           for i, p in enumerate(train)), Path(tmp) / "idx",
                          IndexSettings(size=size))
        build = time.perf_counter() - t0
        print(f"index build: {n} images of {size}x{size}: {build:.2f} s, "
              f"{1000 * build / n:.2f} s per 1,000 images")
        index = ImageIndex(Path(tmp) / "idx")
        index.query(qs[:4])
        per = []
        for q in qs:
            t = time.perf_counter()
            index.query([q], k=3)
            per.append(time.perf_counter() - t)
        t = time.perf_counter()
        found = index.query(qs, k=3)
        batch = (time.perf_counter() - t) / len(qs)
        hits = sum(any(nb.within for nb in f) for f in found)
        print(f"query: {len(qs)} images against {n}: one at a time median "
              f"{1000 * statistics.median(per):.2f} ms, p90 "
              f"{1000 * sorted(per)[int(0.9 * len(per))]:.2f} ms; batched "
              f"{1000 * batch:.2f} ms per image; {hits} within the threshold")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--gens", type=int, default=128)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for generation")
    ap.add_argument("--skip-generation", action="store_true")
    args = ap.parse_args()
    bench_index(args.images, args.size, args.queries)
    if not args.skip_generation:
        bench_generation(args.gens, args.steps, args.batch, args.threads)


if __name__ == "__main__":
    main()
