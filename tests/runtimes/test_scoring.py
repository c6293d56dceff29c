"""HFScorer against a tiny randomly initialised GPT-2 with a locally trained tokenizer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from regurgitate.errors import ConfigError  # noqa: E402
from regurgitate.runtimes.scoring import HFScorer  # noqa: E402

TEXTS = ["the river runs to the sea", "a stone", "copper lantern in the orchard at night"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    torch.set_num_threads(1)
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny_lm")
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<bos>", "<unk>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(TEXTS * 20, trainer)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", unk_token="<unk>", pad_token="<pad>")
    fast.save_pretrained(out)
    cfg = transformers.GPT2Config(vocab_size=len(fast), n_positions=64, n_embd=32, n_layer=2,
                                  n_head=2, bos_token_id=fast.bos_token_id,
                                  eos_token_id=fast.bos_token_id)
    transformers.GPT2LMHeadModel(cfg).save_pretrained(out)
    return out


def test_scores_match_a_direct_forward_pass(model_dir: Path):
    torch.set_num_threads(1)
    scorer = HFScorer(model_dir, batch_size=2)
    scores = scorer.score(TEXTS)
    assert len(scores) == 3
    for text, sc in zip(TEXTS, scores, strict=True):
        ids = scorer.tokenizer(text, add_special_tokens=False)["input_ids"]
        assert list(sc.token_ids) == ids  # every token scored thanks to the BOS
        full = torch.tensor([[scorer.tokenizer.bos_token_id] + ids])
        with torch.no_grad():
            logp = torch.log_softmax(scorer.model(full).logits[0, :-1].float(), -1)
        expect = logp.gather(-1, full[0, 1:, None])[:, 0].numpy()
        np.testing.assert_allclose(sc.logprobs, expect, atol=1e-4)
        p = logp.exp()
        mean = (p * logp).sum(-1).numpy()
        np.testing.assert_allclose(sc.mean, mean, atol=1e-4)
        assert all(v >= 0 for v in sc.var)


def test_missing_model_dir_is_config_error(tmp_path: Path):
    with pytest.raises(ConfigError):
        HFScorer(tmp_path / "nope")
