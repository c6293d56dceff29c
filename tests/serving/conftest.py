"""The serving tests use the target tests' tiny model and the executor tests' small index."""

from tests.executors.conftest import bpe, corpus, local_index  # noqa: F401
from tests.targets.conftest import _one_thread, hf_target, tiny_model_dir  # noqa: F401
