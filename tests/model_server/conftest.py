"""The model-server tests use the target tests' tiny model and HF target (one torch thread)."""

from tests.targets.conftest import _one_thread, hf_target, tiny_model_dir  # noqa: F401
