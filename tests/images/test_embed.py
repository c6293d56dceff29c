"""Copy-detection embeddings from a local TorchScript file (a tiny module built here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from regurgitate.errors import ConfigError
from regurgitate.images.embed import Embedder
from regurgitate.images.index import ImageIndex, IndexSettings, build_image_index
from regurgitate.images.records import SourceImage

from .conftest import random_images


class TinyDescriptor(torch.nn.Module):
    """A fixed random projection of 8x8-pooled pixels: a stand-in with SSCD's interface."""

    def __init__(self) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.proj = torch.nn.Parameter(torch.randn(3 * 8 * 8, 32, generator=gen))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.nn.functional.adaptive_avg_pool2d(x, 8).flatten(1)
        return pooled @ self.proj


@pytest.fixture()
def torchscript_model(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_sscd.pt"
    torch.jit.script(TinyDescriptor()).save(str(path))
    return path


def test_embeddings_rank_the_copy_first(torchscript_model: Path, tmp_path: Path) -> None:
    train = random_images(20, size=32, seed=5)
    emb = Embedder(f"torchscript:{torchscript_model}", size=32)
    build_image_index((SourceImage(id=f"i{n}", caption="c", pixels=p)
                       for n, p in enumerate(train)), tmp_path / "idx",
                      IndexSettings(size=32), embedder=emb)
    index = ImageIndex(tmp_path / "idx")
    assert index.embeddings is not None and index.embeddings.shape == (20, 32)
    assert np.allclose(np.linalg.norm(index.embeddings, axis=1), 1.0, atol=1e-5)
    query = emb.embed(train[[7, 11]])
    found = index.query([train[7], train[11]], k=2, embeddings=query)
    assert found[0][0].id == "i7" and found[0][0].similarity == pytest.approx(1.0, abs=1e-4)
    sims = index.embeddings @ query[1]
    assert int(np.argmax(sims)) == 11


def test_embedding_models_come_from_local_paths_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        Embedder("torchscript:" + str(tmp_path / "missing.pt"))
    with pytest.raises(ConfigError, match="unknown embedding model"):
        Embedder("sscd_disc_mixup")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="TorchScript"):
        Embedder(f"torchscript:{tmp_path / 'junk.pt'}")


@pytest.mark.slow  # builds and saves a tiny CLIP with transformers
def test_clip_from_a_local_folder(tmp_path: Path) -> None:
    from transformers import CLIPConfig, CLIPModel

    vision = {"hidden_size": 32, "image_size": 32, "patch_size": 8, "num_hidden_layers": 1,
              "num_attention_heads": 2, "intermediate_size": 37, "projection_dim": 16}
    text = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 37, "vocab_size": 99, "projection_dim": 16}
    torch.manual_seed(0)
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
              ).save_pretrained(tmp_path / "clip")
    emb = Embedder(f"clip:{tmp_path / 'clip'}", size=32)
    pics = random_images(3, size=32, seed=9)
    out = emb.embed(pics)
    assert out.shape == (3, 16)
    again = emb.embed(pics[::-1])
    assert np.allclose(out[::-1], again, atol=1e-5)
