"""Image membership evidence on the bundled reference-t2i: the anisotropy score beside Wen et
al.'s norm (planted 100x / 10x captions against held-out ones), and dataset inference over the
image signals (loss, PIA, anisotropy) for once-seen against held-out images, with its
false-positive rate under the null.

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/images_dataset_inference_reference.py \
        [--generations 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from regurgitate.detectors.diffusion_membership import DiffusionMembershipDetector, source_seed
from regurgitate.metrics import diffusion_membership as mia
from regurgitate.metrics.anisotropy import anisotropy
from regurgitate.metrics.membership_evidence.dataset_inference import (
    dataset_inference,
    null_false_positive_rate,
)
from regurgitate.metrics.roc import roc_auc
from regurgitate.reference.t2i.paths import data_dir, pipeline_dir


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--generations", type=int, default=4)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--splits", type=int, default=20)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from diffusers import DiffusionPipeline

    manifest = json.loads((data_dir() / "manifest.json").read_text(encoding="utf-8"))["images"]
    with np.load(data_dir() / "images.npz") as z:
        pixels = z["pixels"]
    pipe = DiffusionPipeline.from_pretrained(str(pipeline_dir()), torch_dtype=torch.float32)
    model = mia.LatentDiffusion.from_pipeline(pipe, batch_size=64)
    if model is None:
        raise SystemExit("not a latent text-to-image pipeline")
    caps = [m["caption"] for m in manifest]
    ids = [m["id"] for m in manifest]
    dups = np.array([int(m["duplicates"]) if m["split"] != "heldout" else 0 for m in manifest])
    t0 = time.perf_counter()
    det = DiffusionMembershipDetector(model, signals=("loss", "pia"))
    sig = det.signal_values(caps, list(pixels), ids)["signals"]
    t_lp = time.perf_counter() - t0
    g = args.generations
    cond = mia.encode_text(model, caps).repeat_interleave(g, dim=0)
    seeds = [source_seed(i, 0) + 7919 * k for i in ids for k in range(g)]
    t0 = time.perf_counter()
    an = anisotropy(model, cond, mia.encode_text(model, [""]), seeds)
    t_an = time.perf_counter() - t0
    score = an.score.reshape(-1, g).mean(axis=1)
    norm = an.norm.reshape(-1, g).mean(axis=1)
    cosine = an.cosine.reshape(-1, g).mean(axis=1)
    held = dups == 0
    report: dict[str, object] = {
        "images": len(ids), "generations": g, "timesteps_norm_cosine": list(an.timesteps),
        "anisotropy_ms_per_caption": round(1000 * t_an / len(ids), 1),
        "loss_pia_ms_per_image": round(1000 * t_lp / len(ids), 1)}
    aucs: dict[str, dict[str, float]] = {}
    for name, values in (("anisotropy", score), ("wen_norm_one_step", norm),
                         ("cosine", cosine), ("loss", -np.asarray(sig["loss"])),
                         ("pia", -np.asarray(sig["pia"]))):
        row = {}
        for label, sel in (("x100", dups == 100), ("x10", dups == 10),
                           ("x100+x10", dups >= 10), ("x1", dups == 1)):
            keep = sel | held
            row[label] = roc_auc(values[keep].tolist(), sel[keep].astype(int).tolist())
        aucs[name] = row
    report["auc_against_heldout"] = aucs
    feats = np.c_[-np.asarray(sig["loss"]), -np.asarray(sig["pia"]), score]
    once = dups == 1
    names = ("loss", "pia", "anisotropy")
    di = dataset_inference(feats[once], feats[held], features=names, splits=args.splits,
                           unit="images")
    report["dataset_inference_once_seen_vs_heldout"] = {
        k: v for k, v in di.to_json().items() if k != "splits"}
    rng = np.random.default_rng(1)
    small = []
    for _ in range(20):
        pick = rng.choice(np.nonzero(once)[0], 64, replace=False)
        small.append(dataset_inference(feats[pick], feats[held], splits=args.splits,
                                       seed=int(rng.integers(2**31))).p_value)
    report["dataset_inference_64_once_seen_vs_64_heldout_median_p"] = float(np.median(small))
    for label, pool in (("heldout", feats[held]), ("once_seen", feats[once])):
        null = null_false_positive_rate(pool, trials=args.trials, splits=args.splits)
        single = null_false_positive_rate(pool, trials=args.trials, splits=1)
        report[f"null_{label}"] = {"trials": args.trials, "fpr_median_p":
                                   null.false_positive_rate,
                                   "fpr_single_split": single.false_positive_rate}
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
