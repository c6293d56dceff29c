"""Session fixtures for the target tests: a tiny random GPT-2 with a locally trained
byte-level BPE tokenizer, saved with save_pretrained (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.images.conftest import image_folder  # noqa: F401  (a diffusers folder for the target tests)

TEXT = (
    "The quick brown fox jumps over the lazy dog. "
    "Pack my box with five dozen liquor jugs. "
    "How vexingly quick daft zebras jump! "
    "Sphinx of black quartz, judge my vow. "
    "def add(a, b):\n    return a + b\n\n"
    "Once upon a time there was a small model that remembered too much. "
)


def build_tiny_model(directory: Path, *, seed: int = 0) -> Path:
    """Train a 400-entry byte-level BPE and save a 2-layer width-64 GPT-2 next to it."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    corpus = [TEXT * 3, *(line for line in (TEXT * 20).split(". "))]
    bpe.train_from_iterator(corpus, vocab_size=400, min_frequency=1,
                            special_tokens=["<|endoftext|>"])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    eos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=128, n_embd=64, n_layer=2, n_head=2,
        bos_token_id=eos, eos_token_id=eos, initializer_range=0.2,
    )
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-gpt2"))


@pytest.fixture(scope="session")
def hf_target(tiny_model_dir: Path):
    from regurgitate.targets.hf import HFTarget

    return HFTarget(str(tiny_model_dir), batch_size=4)


@pytest.fixture(scope="session")
def server(hf_target):
    """The OpenAI-compatible server over the tiny model, without faults."""
    from regurgitate.model_server import make_server

    srv = make_server(target=hf_target, model_name="tiny", batch_size=8).start()
    yield srv
    srv.stop()


def model_stopping_at(model_dir: Path, tmp_path: Path, token: int) -> Path:
    """A copy of ``model_dir`` whose generation config also ends generation at ``token``."""
    import json
    import shutil

    copy = tmp_path / "eos-model"
    shutil.copytree(model_dir, copy)
    gen_cfg = copy / "generation_config.json"
    cfg = json.loads(gen_cfg.read_text())
    cfg["eos_token_id"] = [cfg["eos_token_id"], token]
    gen_cfg.write_text(json.dumps(cfg))
    return copy
