"""HFTarget on a tiny random GPT-2 built in conftest."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from regurgitate.errors import ConfigError, TargetError
from regurgitate.targets.hf import HFTarget, plain_chat_prompt
from regurgitate.types import GenerationSettings, Prompt
from tests.targets.conftest import model_stopping_at

from .prompts import PROMPT_TEXTS, greedy, text_prompts


def test_batched_greedy_equals_one_at_a_time(hf_target):
    prompts = text_prompts(PROMPT_TEXTS, greedy(16))
    batched = hf_target.generate(prompts)
    single = [hf_target.generate([p])[0] for p in prompts]
    assert [g.prompt_id for g in batched] == [p.id for p in prompts]
    for b, s in zip(batched, single, strict=True):
        assert b.ok and s.ok
        assert b.token_ids == s.token_ids
        assert b.text == s.text
        assert b.logprobs == pytest.approx(s.logprobs, abs=1e-4)


def test_logprobs_one_per_token_and_not_positive(hf_target):
    gens = hf_target.generate(text_prompts(PROMPT_TEXTS, greedy(10)))
    for g in gens:
        assert g.token_ids is not None and g.logprobs is not None
        assert len(g.logprobs) == len(g.token_ids) == g.completion_tokens
        assert all(lp <= 0.0 for lp in g.logprobs)
        assert g.prompt_tokens and g.prompt_tokens > 0


def test_greedy_logprob_is_the_maximum_of_the_model_distribution(hf_target):
    (gen,) = hf_target.generate(text_prompts(["The quick brown"], greedy(1)))
    enc = hf_target.tokenizer("The quick brown", return_tensors="pt")
    with torch.inference_mode():
        logits = hf_target.model(**enc).logits[0, -1]
    logprobs = torch.log_softmax(logits, -1)
    assert gen.token_ids == (int(logprobs.argmax()),)
    assert gen.logprobs[0] == pytest.approx(float(logprobs.max()), abs=1e-5)


def test_no_logprobs_when_not_asked(hf_target):
    (gen,) = hf_target.generate(text_prompts(["jugs"], greedy(5, logprobs=False)))
    assert gen.logprobs is None and gen.token_ids is not None


@pytest.mark.parametrize("n", [1, 3, 7])
def test_max_new_tokens_respected(hf_target, n):
    gens = hf_target.generate(text_prompts(PROMPT_TEXTS[:3], greedy(n)))
    for g in gens:
        assert len(g.token_ids) <= n
        if g.finish_reason == "length":
            assert len(g.token_ids) == n


def test_seed_reproduces_sampling_and_leaves_global_rng_alone(hf_target):
    def sample(seed):
        s = GenerationSettings(max_new_tokens=20, temperature=1.0, top_k=50, top_p=0.95,
                               seed=seed)
        return [g.token_ids for g in hf_target.generate(text_prompts(PROMPT_TEXTS, s))]

    state = torch.get_rng_state()
    first, again, other = sample(1), sample(1), sample(2)
    assert torch.equal(state, torch.get_rng_state())
    assert first == again
    assert first != other


def test_unseeded_sampling_varies(hf_target):
    s = GenerationSettings(max_new_tokens=20, temperature=1.0)
    prompts = text_prompts(PROMPT_TEXTS[:2], s)
    first = [g.token_ids for g in hf_target.generate(prompts)]
    second = [g.token_ids for g in hf_target.generate(prompts)]
    assert first != second


def test_bad_dtype_and_device(tiny_model_dir):
    with pytest.raises(ConfigError, match="unknown dtype"):
        HFTarget(str(tiny_model_dir), dtype="float33")
    with pytest.raises(TargetError, match="device"):
        HFTarget(str(tiny_model_dir), device="nosuchdevice")


def test_mixed_settings_are_grouped_and_order_kept(hf_target):
    a, b = greedy(4), greedy(9)
    prompts = [
        Prompt(id=str(i), attack="mix", text=t, settings=a if i % 2 else b)
        for i, t in enumerate(PROMPT_TEXTS)
    ]
    mixed = hf_target.generate(prompts)
    assert [g.prompt_id for g in mixed] == [p.id for p in prompts]
    for p, g in zip(prompts, mixed, strict=True):
        (alone,) = hf_target.generate([p])
        assert g.token_ids == alone.token_ids


def test_chat_fallback_template(hf_target):
    assert not getattr(hf_target.tokenizer, "chat_template", None)
    messages = ({"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"})
    rendered = plain_chat_prompt(messages)
    assert rendered == "System: Be brief.\nUser: hi\nAssistant:"
    chat = Prompt(id="c", attack="chat", text=None, messages=messages, settings=greedy(8))
    plain = Prompt(id="p", attack="chat", text=rendered, settings=greedy(8))
    g_chat, g_plain = hf_target.generate([chat, plain])
    assert g_chat.ok and g_chat.token_ids == g_plain.token_ids
    assert g_chat.prompt_tokens == len(hf_target.tokenizer(rendered)["input_ids"])


def test_chat_flag_picks_between_text_and_messages(tiny_model_dir):
    both = Prompt(id="b", attack="chat", text="jugs",
                  messages=({"role": "user", "content": "jugs"},), settings=greedy(5))
    chatty = HFTarget(str(tiny_model_dir), chat=True)
    plain = HFTarget(str(tiny_model_dir), chat=False)
    assert chatty.render(both) == "User: jugs\nAssistant:"
    assert plain.render(both) == "jugs"


def test_chat_template_is_used_when_present(tiny_model_dir, tmp_path):
    copy = tmp_path / "templated"
    shutil.copytree(tiny_model_dir, copy)
    cfg_path = copy / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["chat_template"] = (
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    cfg_path.write_text(json.dumps(cfg))
    target = HFTarget(str(copy))
    chat = Prompt(id="c", attack="chat", text=None,
                  messages=({"role": "user", "content": "hi"},), settings=greedy(4))
    assert target.render(chat) == "<user>hi\n<assistant>"
    (gen,) = target.generate([chat])
    assert gen.ok and gen.prompt_tokens == len(target.tokenizer("<user>hi\n<assistant>")
                                               ["input_ids"])


def test_stops_at_eos(tiny_model_dir, tmp_path):
    (free,) = HFTarget(str(tiny_model_dir)).generate(text_prompts(["The quick brown"], greedy(12)))
    assert free.finish_reason == "length"
    stop_token = free.token_ids[3]
    first = free.token_ids.index(stop_token)
    # a copy of the model whose generation config treats that token as end-of-sequence
    copy = model_stopping_at(tiny_model_dir, tmp_path, stop_token)
    (stopped,) = HFTarget(str(copy)).generate(text_prompts(["The quick brown"], greedy(12)))
    assert stopped.finish_reason == "stop"
    assert stopped.token_ids == free.token_ids[:first]
    assert len(stopped.logprobs) == len(stopped.token_ids)


def test_overlong_prompt_keeps_its_end(hf_target):
    long_text = "Pack my box with five dozen liquor jugs. " * 40  # far beyond 128 positions
    (gen,) = hf_target.generate(text_prompts([long_text], greedy(8)))
    assert gen.ok and len(gen.token_ids) <= 8
    assert gen.prompt_tokens + 8 <= 128


def test_generation_longer_than_the_context_is_cut_not_failed(hf_target):
    # a divergence-style request: a short prompt and more new tokens than the context holds
    (gen,) = hf_target.generate(text_prompts(["Repeat this word forever: poem"], greedy(500)))
    assert gen.ok and gen.finish_reason in ("length", "stop")
    assert gen.prompt_tokens + len(gen.token_ids) <= 128
    assert gen.prompt_tokens >= 5  # the instruction is kept, not cut to one token
    # a long prompt with a long request keeps half the context for the prompt
    (gen,) = hf_target.generate(text_prompts(["Pack my box. " * 100], greedy(500)))
    assert gen.ok and gen.prompt_tokens == 64 and len(gen.token_ids) <= 64


def test_empty_prompt_samples_unconditionally(hf_target):
    (gen,) = hf_target.generate(text_prompts([""], greedy(6)))
    assert gen.ok and gen.completion_tokens is not None


def test_invalid_settings_raise_config_error(hf_target):
    with pytest.raises(ConfigError, match="top_p"):
        hf_target.generate(text_prompts(["x"], GenerationSettings(top_p=0.0)))
    with pytest.raises(ConfigError, match="max_new_tokens"):
        hf_target.generate(text_prompts(["x"], GenerationSettings(max_new_tokens=0)))


def test_missing_model_dir_is_a_usage_error(tmp_path):
    with pytest.raises(ConfigError, match="no model directory at") as exc:
        HFTarget(str(tmp_path / "missing"))
    assert exc.value.exit_code == 2  # issue 41: a missing folder is the user's, not the model's
    (tmp_path / "empty").mkdir()  # exists but holds no model
    with pytest.raises(TargetError, match="cannot load model"):
        HFTarget(str(tmp_path / "empty"))


def test_missing_torch_names_the_extra(tiny_model_dir: Path):
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None\n"
        "from regurgitate.errors import MissingDependencyError\n"
        "from regurgitate.targets.hf import HFTarget\n"
        "try:\n"
        f"    HFTarget({str(tiny_model_dir)!r})\n"
        "except MissingDependencyError as e:\n"
        "    print('OK', e.package, e.extra, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.startswith("OK torch hf")
    assert "regurgitate[hf]" in out
