"""ROC-AUC of each diffusion membership signal by timestep (loss, PIA) and by steps and
generations (Wen et al.), planted images against held-out ones, on a model and its index.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/diffusion_mia_sweep.py MODEL_DIR INDEX_DIR \
        [--per-group 64] [--timesteps 50,100,200,300,500]

Members are the index's images with a training count > 0 (each duplicate group also alone),
non-members its held-out images; ``--per-group`` caps each group as the img2img attack does.
Prints figures only (nothing is asserted).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("index", type=Path)
    ap.add_argument("--per-group", type=int, default=64)
    ap.add_argument("--timesteps", default="50,100,200,300,500")
    ap.add_argument("--wen-steps", default="1,5")
    ap.add_argument("--wen-gens", default="1,4")
    ap.add_argument("--inference-steps", type=int, default=25)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from regurgitate.attacks.img2img import choose_rows, duplicates_of
    from regurgitate.detectors.diffusion_membership import DiffusionMembershipDetector
    from regurgitate.images.index import ImageIndex
    from regurgitate.metrics import diffusion_membership as mia
    from regurgitate.metrics.roc import roc_auc, tpr_at_fpr
    from regurgitate.targets.diffusers_target import DiffusersTarget

    index = ImageIndex(args.index)
    rows = choose_rows(index, args.per_group, 0)
    dups = np.asarray([duplicates_of(index, r)[0] for r in rows])
    caps = [index.captions[r] for r in rows]
    pix = [np.asarray(index.pixels[r]) for r in rows]
    ids = [index.ids[r] for r in rows]
    target = DiffusersTarget(str(args.model), threads=1, batch_size=32)
    model = mia.LatentDiffusion.from_pipeline(target.pipe, batch_size=32)
    assert model is not None
    groups = sorted({int(d) for d in dups if d > 0}, reverse=True)
    print(f"{len(rows)} images: " + ", ".join(f"{int((dups == g).sum())} x{g}" for g in groups)
          + f", {int((dups == 0).sum())} held out")

    def report(name: str, member_score: np.ndarray, seconds: float) -> None:
        cells = []
        for g in [None, *groups]:
            keep = (dups == 0) | ((dups > 0) if g is None else (dups == g))
            y = (dups[keep] > 0).astype(int)
            s = member_score[keep]
            cells.append(f"{'all' if g is None else f'x{g}'} {roc_auc(s, y):.3f}"
                         f"/{tpr_at_fpr(s, y, 0.01):.2f}")
        print(f"{name:34s} AUC/TPR@1%: " + "  ".join(cells)
              + f"  ({1000 * seconds / len(rows):.1f} ms/image)")

    for t in (int(x) for x in args.timesteps.split(",")):
        for signal in ("loss", "pia"):
            det = DiffusionMembershipDetector(model, timestep=t, signals=(signal,))
            t0 = time.perf_counter()
            v = det.signal_values(caps, pix, ids)["signals"][signal]
            report(f"{signal} t={t}", -np.asarray(v), time.perf_counter() - t0)
    for k in (int(x) for x in args.wen_steps.split(",")):
        for g in (int(x) for x in args.wen_gens.split(",")):
            det = DiffusionMembershipDetector(model, signals=("wen",), wen_steps=k,
                                              wen_generations=g,
                                              wen_inference_steps=args.inference_steps)
            t0 = time.perf_counter()
            v = det.signal_values(caps, pix, ids)["signals"]["wen"]
            report(f"wen steps {k}/{args.inference_steps} gens {g}", np.asarray(v),
                   time.perf_counter() - t0)


if __name__ == "__main__":
    main()
