"""Copy-detection / CLIP embeddings from a *local* model, for the SSCD similarity test.

``torchscript:PATH`` loads a TorchScript module (SSCD's released models are TorchScript files)
that maps an N x 3 x H x W float batch, ImageNet-normalised, to N x D descriptors.
``clip:DIR`` loads a CLIP model saved with ``save_pretrained`` (transformers) from a folder and
uses its image features. Nothing is ever downloaded: both take paths on disk only.
Descriptors are L2-normalised, so a dot product is the cosine similarity (Somepalli et al. call
a generation a replica above 0.5; 0.75 is the strict level).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from regurgitate.errors import ConfigError, optional_import

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LOOSE = 0.5
STRICT = 0.75


class Embedder:
    """Turns uint8 N x H x W x 3 images into L2-normalised float32 descriptors."""

    def __init__(self, spec: str, size: int = 288, batch_size: int = 32) -> None:
        kind, _, path = spec.partition(":")
        if kind not in ("torchscript", "clip") or not path:
            raise ConfigError(f"unknown embedding model {spec!r}",
                              hint="use torchscript:PATH (e.g. an SSCD .pt file) or clip:DIR")
        self.spec = spec
        self.kind = kind
        self.path = Path(path)
        if not self.path.exists():
            raise ConfigError(f"embedding model {self.path} does not exist",
                              hint="models are read from local paths only")
        self.size = size
        self.batch_size = batch_size
        self._fn = self._load()

    def describe(self) -> dict[str, Any]:
        return {"spec": self.spec, "size": self.size}

    def _load(self) -> Callable[[Any], Any]:
        torch = optional_import("torch", extra="images", purpose="copy-detection embeddings")
        if self.kind == "torchscript":
            try:
                with warnings.catch_warnings():  # SSCD ships TorchScript; torch deprecates it
                    warnings.simplefilter("ignore", DeprecationWarning)
                    module = torch.jit.load(str(self.path), map_location="cpu").eval()
            except (RuntimeError, ValueError) as exc:
                raise ConfigError(f"{self.path} is not a TorchScript model: {exc}") from exc
            return module  # type: ignore[no-any-return]
        from transformers import CLIPModel

        model = CLIPModel.from_pretrained(self.path, local_files_only=True).eval()

        def clip_features(batch: Any) -> Any:
            out = model.get_image_features(pixel_values=batch)
            return out if isinstance(out, torch.Tensor) else out.pooler_output

        return clip_features

    def embed(self, images: np.ndarray) -> np.ndarray:
        """N x H x W x 3 uint8 -> N x D float32 unit vectors."""
        import torch

        from regurgitate.images.imageio import resize

        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        outs: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                chunk = np.stack([resize(np.asarray(im), self.size)
                                  for im in images[start:start + self.batch_size]])
                x = torch.from_numpy(chunk).permute(0, 3, 1, 2).float() / 255.0
                feats = self._fn((x - mean) / std).float()
                feats = torch.nn.functional.normalize(feats.reshape(len(chunk), -1), dim=1)
                outs.append(feats.numpy())
        return np.ascontiguousarray(np.concatenate(outs), dtype=np.float32)
