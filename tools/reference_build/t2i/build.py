"""Rebuild the bundled text-to-image reference: ``python -m tools.reference_build.t2i.build``.

Steps: draw the captioned images and their manifest (seconds), build the tokenizer, train the
autoencoder and then the UNet with the text encoder (21 minutes on one CPU thread, at ``nice``
10 by default), then measure what the pipeline reproduces (``verification.json``, 3 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

from regurgitate.reference.t2i.dataset import T2ISetSpec, caption_words, load_t2i_set
from regurgitate.reference.t2i.paths import data_dir
from tools.reference_build.t2i.dataset import build_t2i_set, save_t2i_set
from tools.reference_build.t2i.models import MAX_TOKENS
from tools.reference_build.t2i.tokenizer import load_tokenizer, unknown_words, write_tokenizer
from tools.reference_build.t2i.train import UnetSpec, VaeSpec, train_unet, train_vae
from tools.reference_build.t2i.verify import verify_pipeline


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.reference_build.t2i.build",
                                description=(__doc__ or "").splitlines()[0])
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: the package's reference/t2i/data)")
    p.add_argument("--images-only", action="store_true", help="write images + manifest only")
    p.add_argument("--verify-only", action="store_true", help="only re-check a built pipeline")
    p.add_argument("--vae-steps", type=int, default=VaeSpec().steps)
    p.add_argument("--unet-steps", type=int, default=UnetSpec().steps)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--nice", type=int, default=10,
                   help="lower this process's priority by N first (default 10; 0: as started)")
    p.add_argument("--samples", type=int, default=16, help="verification samples per caption")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.nice > 0:
        os.nice(args.nice)  # training shares the CPU with other work
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    out: Path = args.out or data_dir()
    pipeline = out / "pipeline"

    def log(msg: str) -> None:
        print(msg, flush=True)

    if args.verify_only:
        images = load_t2i_set(out)
    else:
        images = build_t2i_set(T2ISetSpec())
        save_t2i_set(images, out)
        log(f"images: {len(images.records)} ({images.training_stream().size} in the training "
            f"stream) -> {out}")
        if args.images_only:
            return 0
        tok_dir = write_tokenizer(caption_words(), out / "tokenizer-build", MAX_TOKENS)
        tokenizer = load_tokenizer(tok_dir)
        bad = unknown_words(tokenizer, caption_words())
        if bad:
            raise SystemExit(f"tokenizer splits caption words: {bad}")
        vae, vae_record = train_vae(images, VaeSpec(steps=args.vae_steps), log)
        train_unet(images, vae, tok_dir, UnetSpec(steps=args.unet_steps), pipeline, log,
                   vae_record)
        import shutil

        shutil.rmtree(tok_dir)
    report = verify_pipeline(pipeline, images, samples=args.samples, threads=args.threads)
    (out / "verification.json").write_text(json.dumps(report, indent=1) + "\n")
    summary = {k: {kk: vv for kk, vv in v.items() if kk != "per_image"}
               for k, v in report["by_duplicates"].items()}
    log(json.dumps({"by_duplicates": summary, "reconstruction": report["reconstruction"]},
                   indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
