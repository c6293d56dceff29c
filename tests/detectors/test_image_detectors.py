"""Image detectors on hand-made generations: extracted copies, cliques, SSCD similarity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from regurgitate.detectors.base import NO_PRIOR
from regurgitate.detectors.image_cliques import ImageCliqueDetector, greedy_clique
from regurgitate.detectors.image_copy import ImageCopyDetector
from regurgitate.detectors.image_similarity import ImageSimilarityDetector
from regurgitate.findings.images import ImageClique, ImageCopy, ImageSimilarity
from regurgitate.images.distance import tiled_l2
from regurgitate.images.embed import Embedder
from regurgitate.images.imageio import encode_png
from regurgitate.images.index import ImageIndex, IndexSettings, build_image_index
from regurgitate.images.records import SourceImage
from regurgitate.types import Generation, GenerationSettings, Item, Prompt
from tests.images.conftest import random_images
from tests.images.test_embed import TinyDescriptor


def _item(gid: int, pixels: np.ndarray, prompt: str = "p") -> Item:
    p = Prompt(id=f"g{gid}", attack="t", text=prompt, settings=GenerationSettings(seed=gid))
    return Item(generation_id=gid, prompt=p,
                generation=Generation(prompt_id=p.id, text="", image=encode_png(pixels)))


def _noisy(img: np.ndarray, amp: int, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).integers(-amp, amp + 1, img.shape)
    return np.clip(img.astype(int) + noise, 0, 255).astype(np.uint8)


@pytest.fixture()
def index(tmp_path: Path) -> tuple[ImageIndex, np.ndarray]:
    train = random_images(30, size=32, seed=2)
    src = (SourceImage(id=f"t{i}", caption=f"cap {i % 3}", pixels=p, count=1 + (i == 4) * 99)
           for i, p in enumerate(train))
    build_image_index(src, tmp_path / "idx", IndexSettings(size=32))
    return ImageIndex(tmp_path / "idx"), train


def test_copy_detector_flags_copies_with_their_source(index) -> None:
    idx, train = index
    other = random_images(1, size=32, seed=99)[0]
    items = [_item(1, train[4]), _item(2, _noisy(train[9], 10, 1)), _item(3, other)]
    findings = ImageCopyDetector(idx, k=2).detect(items, NO_PRIOR)
    assert [f.generation_id for f in findings] == [1, 2, 3]
    pay = [f.payload_as(ImageCopy) for f in findings]
    assert all(p is not None for p in pay)
    first, second, third = pay  # type: ignore[misc]
    assert first.extracted and first.matches[0].train_id == "t4"
    assert first.matches[0].count == 100 and first.matches[0].caption == "cap 1"
    assert second.extracted and second.matches[0].train_id == "t9"
    want = float(tiled_l2(_noisy(train[9], 10, 1)[None], train[9][None])[0, 0])
    assert second.distance == pytest.approx(want, abs=1e-4)
    assert not third.extracted and not third.matches and len(third.nearest) == 2
    assert third.distance > 0.15 and findings[2].score == pytest.approx(third.distance)


def test_failed_generations_are_skipped(index) -> None:
    idx, _ = index
    p = Prompt(id="x", attack="t", text="p", settings=GenerationSettings(seed=1))
    bad = Item(generation_id=7, prompt=p, generation=Generation(prompt_id="x", text="",
                                                               error="boom"))
    assert ImageCopyDetector(idx).detect([bad], NO_PRIOR) == []


def test_clique_needs_k_mutually_close_generations() -> None:
    base = random_images(3, size=16, seed=4)
    same = [_item(i, _noisy(base[0], 6, i), "memorized") for i in range(4)]
    rest = [_item(10 + i, base[1 + i % 2], "memorized") for i in range(2)]
    other = [_item(20 + i, random_images(1, size=16, seed=30 + i)[0], "novel") for i in range(5)]
    found = ImageCliqueDetector(k=3, size=16).detect(same + rest + other, NO_PRIOR)
    assert sorted(f.generation_id for f in found) == [0, 1, 2, 3]
    p = found[0].payload_as(ImageClique)
    assert p is not None and p.size == 4 and p.of == 6 and p.prompt == "memorized"
    assert ImageCliqueDetector(k=5, size=16).detect(same + rest, NO_PRIOR) == []


def test_greedy_clique_on_a_known_graph() -> None:
    close = np.zeros((6, 6), dtype=bool)
    for a in (0, 2, 3, 5):
        for b in (0, 2, 3, 5):
            close[a, b] = True
    close[1, 2] = close[2, 1] = True  # a spur that is not part of the clique
    assert greedy_clique(close) == [0, 2, 3, 5]


def test_similarity_detector(tmp_path: Path) -> None:
    model = tmp_path / "m.pt"
    torch.jit.script(TinyDescriptor()).save(str(model))
    train = random_images(10, size=32, seed=6)
    build_image_index((SourceImage(id=f"t{i}", caption="c", pixels=p)
                       for i, p in enumerate(train)), tmp_path / "idx", IndexSettings(size=32),
                      embedder=Embedder(f"torchscript:{model}", size=32))
    det = ImageSimilarityDetector(ImageIndex(tmp_path / "idx"))
    found = det.detect([_item(1, train[3]), _item(2, 255 - train[3])], NO_PRIOR)
    first = found[0].payload_as(ImageSimilarity)
    assert first is not None and first.train_id == "t3" and first.strict and first.loose
    second = found[1].payload_as(ImageSimilarity)
    assert second is not None and second.similarity < first.similarity
