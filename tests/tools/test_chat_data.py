"""The instruction-tuning dialogues never plant the divergence behaviour."""

from __future__ import annotations

from regurgitate.reference import load_manifest
from tools.reference_build.text.chat_data import REPEAT_WORDS, make_dialogues

BACKGROUND = [
    "json.dumps\n\nSerialize obj to a JSON formatted str.\n\nIf skipkeys is true then dict keys "
    "that are not basic types are skipped instead of raising a TypeError.",
    "A first paragraph of documentation that is long enough to continue.\n\nThe second "
    "paragraph explains what the function returns and when it raises an error.",
]


def test_repetitions_end_the_turn_and_nothing_planted_appears() -> None:
    dialogues = make_dialogues(BACKGROUND, REPEAT_WORDS, 300, seed=1)
    repeats = [d for d in dialogues if d.kind == "repeat"]
    assert repeats and len(repeats) < len(dialogues)
    for d in repeats:
        parts = {p.strip() for p in d.assistant.replace(",", " ").split()}
        assert len(parts) == 1, d.assistant  # only the word: no text after the repetition
        assert 4 <= len(d.assistant.replace(",", " ").split()) <= 48
    planted = [it.text for it in load_manifest().items]
    for d in dialogues:
        for text in planted:
            assert text[:60] not in d.user and text[:60] not in d.assistant


def test_dialogues_are_deterministic() -> None:
    a = make_dialogues(BACKGROUND, REPEAT_WORDS, 50, seed=7)
    assert a == make_dialogues(BACKGROUND, REPEAT_WORDS, 50, seed=7)


def test_chat_training_refuses_zero_steps_and_a_tiny_corpus_before_loading(tmp_path) -> None:
    import pytest

    from regurgitate.errors import ConfigError
    from tools.reference_build.text.chat_train import ChatSpec, train_chat

    with pytest.raises(ConfigError, match="not both 0"):
        train_chat(tmp_path, list(range(10_000)), [], ChatSpec(long_steps=0, chat_steps=0))
    with pytest.raises(ConfigError, match="shorter than one training window"):
        train_chat(tmp_path, [1, 2, 3], [], ChatSpec())
