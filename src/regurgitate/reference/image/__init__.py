"""The bundled image reference: procedurally drawn training images (some planted 100 and 10
times, some held out), a tiny class-conditioned diffusion model trained on them, and how to
rebuild both (``python -m tools.reference_build.image.build``)."""

from regurgitate.reference.image.paths import data_dir, images_dir, model_dir

__all__ = ["data_dir", "images_dir", "model_dir"]
