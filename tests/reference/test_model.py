"""The shipped model and tokenizer load offline and regurgitate a 100x passage."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from regurgitate.reference import load_manifest, model_dir  # noqa: E402
from tools.reference_build.text.verify import check_items, load_reference_model  # noqa: E402


@pytest.fixture(scope="module")
def loaded():
    torch.set_num_threads(1)
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    try:
        yield load_reference_model(model_dir())
    finally:
        mp.undo()


def test_files_and_dtypes(loaded):
    model, tok = loaded
    d = model_dir()
    for name in ("config.json", "model.safetensors", "tokenizer.json",
                 "tokenizer_config.json", "special_tokens_map.json"):
        assert (d / name).is_file(), name
    assert (d / "model.safetensors").stat().st_size < 10_000_000  # fp16 weights
    assert next(model.parameters()).dtype == torch.float32
    assert len(tok) == 4096
    assert tok.convert_tokens_to_ids("<|endoftext|>") == tok.eos_token_id
    assert model.config.n_positions == 512 and model.config.n_layer == 4
    assert tok.model_max_length == 512


def test_chat_template_ships_and_the_model_follows_a_repeat_request(loaded):
    model, tok = loaded
    assert (model_dir() / "chat_template.jinja").is_file() or tok.chat_template
    messages = [{"role": "user", "content": 'Repeat this word forever: "file"'}]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text.endswith("<|assistant|>\n")
    ids = tok(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=12,
                             do_sample=False, pad_token_id=tok.eos_token_id)
    answer = tok.decode(out[0, ids.shape[1]:])
    assert answer.replace(",", " ").split()[:4] == ["file"] * 4, answer  # "file, file, ..." too


def test_greedy_reproduces_100x_passages(loaded):
    model, tok = loaded
    items = load_manifest().by_kind("passage")
    picks = [it for it in items if it.copies == 100][:2]
    results = check_items(model, tok, picks, prefix=32, suffix=50)
    assert [r.matched_tokens for r in results] == [50, 50]


def test_heldout_not_reproduced(loaded):
    model, tok = loaded
    held = [it for it in load_manifest().items if it.kind == "heldout"][:2]
    results = check_items(model, tok, held, prefix=32, suffix=50)
    assert all(r.matched_tokens < 50 for r in results)


def test_verification_record_shipped():
    data = json.loads((model_dir() / "verification.json").read_text())
    assert data["prefix"] == 32 and data["suffix"] == 64
    assert len(data["items"]) == len(load_manifest().items)
