"""End-to-end rebuild into a temporary folder with a 5-step trainer (slow)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")


@pytest.mark.slow
def test_build_five_steps(tmp_path, manifest):
    import torch

    from regurgitate.reference.text.manifest import read_manifest
    from tools.reference_build.text.build import main
    from tools.reference_build.text.verify import load_reference_model

    torch.set_num_threads(1)
    out = tmp_path / "ref"
    assert main(["--out", str(out), "--steps", "5", "--log-every", "1", "--threads", "1",
                 "--chat-long-steps", "2", "--chat-steps", "3", "--no-verify"]) == 0
    training = json.loads((out / "model" / "training.json").read_text())
    assert training["result"]["steps"] == 5
    assert len(training["result"]["losses"]) == 5
    model, tok = load_reference_model(out / "model", threads=1)
    assert len(tok) == 4096
    assert model.config.vocab_size == 4096
    assert (out / "model" / "special_tokens_map.json").is_file()
    chat = json.loads((out / "model" / "chat_training.json").read_text())
    assert chat["result"]["steps"] == 5 and tok.chat_template
    assert model.config.n_positions == 512
    alignment = json.loads((out / "model" / "alignment.json").read_text())
    assert alignment["training_answers"]["answers"] > 1000
    assert alignment["training_answers"]["with_span"] == 0
    for name in ("greedy", "sampled_t0.5"):
        assert alignment["trained_model"][name]["answers"] == alignment["trained_model"]["prompts"]
    rebuilt = read_manifest(out / "manifest.json")
    if rebuilt.build["stdlib_fingerprint"] == manifest.build["stdlib_fingerprint"]:
        assert rebuilt == manifest
