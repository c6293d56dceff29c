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
