"""The nasr2023 preset of the divergence attack: protocol settings and the same-run baseline."""

from __future__ import annotations

import pytest

from regurgitate.attacks.base import AttackContext
from regurgitate.attacks.divergence import PRESETS, DivergenceAttack
from regurgitate.errors import ConfigError
from regurgitate.registry import make_attack

CTX = AttackContext(index=None, seed=5)


def test_preset_sets_the_protocol_and_adds_an_equal_baseline() -> None:
    attack = make_attack("divergence", {"preset": "nasr2023"})
    prompts = attack.prompts(CTX)
    words = [p for p in prompts if "word" in p.meta]
    base = [p for p in prompts if p.meta.get("baseline")]
    p = PRESETS["nasr2023"]
    assert len(words) == len(p["words"]) * len(p["repeats"]) * p["samples"]
    assert len(base) == len(words)  # same number of prompts and settings: same token budget
    for prompt in prompts:
        s = prompt.settings
        assert s.max_new_tokens == p["max_new_tokens"] == s.min_new_tokens  # ignore EOS
        assert s.frequency_penalty == p["frequency_penalty"]
        assert prompt.messages is not None and prompt.text is not None
    assert all("word" not in b.meta and "forever" not in b.messages[0]["content"]
               for b in base)
    assert len({q.id for q in prompts}) == len(prompts)
    assert len({q.settings.seed for q in prompts}) == len(prompts)
    assert [q.id for q in prompts] == [q.id for q in attack.prompts(CTX)]


def test_explicit_options_win_over_the_preset() -> None:
    attack = make_attack("divergence", {"preset": "nasr2023", "words": "poem",
                                        "frequency_penalty": "0", "samples": "2"})
    assert attack.words == ("poem",) and attack.samples == 2
    assert attack.repeats == PRESETS["nasr2023"]["repeats"]
    assert attack.frequency_penalty == 0.0  # given explicitly, even though it is the default
    (first, *_) = attack.prompts(CTX)
    assert first.settings.frequency_penalty == 0.0


def test_unknown_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown divergence preset"):
        DivergenceAttack(preset="nasr2024")


def test_controls_reach_the_prompt_settings() -> None:
    attack = DivergenceAttack(words=("a",), repeats=(1,), templates=("say {words}",),
                              presence_penalty=0.3, repetition_penalty=1.2, max_new_tokens=9)
    (prompt,) = attack.prompts(CTX)
    s = prompt.settings
    assert (s.presence_penalty, s.repetition_penalty, s.min_new_tokens) == (0.3, 1.2, 0)
