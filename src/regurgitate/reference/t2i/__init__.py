"""The bundled text-to-image reference: procedurally drawn 32x32 pictures, each with its own
caption (some planted 100 and 10 times, most once, some held out), a tiny latent
Stable-Diffusion-style pipeline trained on them, and how to rebuild both
(``python -m tools.reference_build.t2i.build``)."""

from regurgitate.reference.t2i.paths import data_dir, images_dir, pipeline_dir

#: the sampling settings a scan of the bundled pipeline uses (and its verification checks)
SCAN_STEPS = 25
SCAN_GUIDANCE = 3.0

__all__ = ["SCAN_GUIDANCE", "SCAN_STEPS", "data_dir", "images_dir", "pipeline_dir"]
