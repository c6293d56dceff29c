"""Rebuild the bundled image reference: ``python -m tools.reference_build.image.build``.

Steps: draw the image set and its manifest (a second), train the diffusion model (tens of
minutes on 2 CPU cores; run it under ``nice``), then check which planted images it reproduces.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from regurgitate.reference.image.dataset import SHAPES, ImageSetSpec, caption_for
from regurgitate.reference.image.paths import data_dir
from tools.reference_build.image.dataset import build_image_set, save_image_set
from tools.reference_build.image.train import DiffusionTrainSpec, train_diffusion
from tools.reference_build.image.verify import verify_model


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.reference_build.image.build",
                                description=(__doc__ or "").splitlines()[0])
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: the package's reference/image/data)")
    p.add_argument("--images-only", action="store_true", help="write images + manifest only")
    p.add_argument("--verify-only", action="store_true", help="only re-check a trained model")
    p.add_argument("--steps", type=int, default=DiffusionTrainSpec().steps)
    p.add_argument("--stop-after", type=int, default=DiffusionTrainSpec().stop_after,
                   help="stop at this step of the --steps schedule")
    p.add_argument("--lr", type=float, default=DiffusionTrainSpec().lr)
    p.add_argument("--threads", type=int, default=DiffusionTrainSpec().threads)
    p.add_argument("--samples", type=int, default=32, help="verification samples per caption")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out: Path = args.out or data_dir()
    images = build_image_set(ImageSetSpec())
    captions = [caption_for(i) for i in range(len(SHAPES))]
    if not args.verify_only:
        save_image_set(images, out)
        print(f"images: {len(images.records)} ({images.training_stream()[0].size} in the "
              f"training stream) -> {out}", flush=True)
        if args.images_only:
            return 0
        spec = DiffusionTrainSpec(steps=args.steps, stop_after=args.stop_after, lr=args.lr,
                                  threads=args.threads)
        train_diffusion(images, out / "model", spec, captions)
    report = verify_model(out / "model", images, samples_per_caption=args.samples)
    (out / "model" / "verification.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["by_duplicates"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
