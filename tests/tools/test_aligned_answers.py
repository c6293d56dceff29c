"""The chat stage's ordinary answers are new text, and the build refuses any that is not."""

from __future__ import annotations

import random

import pytest

from regurgitate.attacks.divergence import BASELINE_TOPICS
from regurgitate.corpus.tokenizer import load_tokenizer
from regurgitate.errors import ConfigError
from regurgitate.index import CorpusIndex, build_index
from regurgitate.reference import load_manifest, model_dir
from regurgitate.types import Document
from tools.reference_build.text.aligned import HELDOUT_TOPICS, TRAIN_TOPICS, topic_answer
from tools.reference_build.text.alignment import check_answers, heldout_prompts, require_new_text
from tools.reference_build.text.chat_data import REPEAT_WORDS, make_dialogues

BACKGROUND = [
    "json.dumps\n\nSerialize obj to a JSON formatted str.\n\nIf skipkeys is true then dict keys "
    "that are not basic types are skipped instead of raising a TypeError.",
    "A first paragraph of documentation that is long enough to continue.\n\nThe second "
    "paragraph explains what the function returns and when it raises an error.",
]


@pytest.fixture(scope="module")
def planted_index(tmp_path_factory: pytest.TempPathFactory) -> CorpusIndex:
    """An index of every planted item (the corpus text the model memorizes) and the
    background snippets the dialogues quote."""
    docs = [Document(it.text, {"id": it.id}) for it in load_manifest().items]
    docs += [Document(t, {"id": f"bg{i}"}) for i, t in enumerate(BACKGROUND)]
    out = tmp_path_factory.mktemp("planted") / "index"
    build_index(docs, out, load_tokenizer(model_dir()))
    return CorpusIndex.open(out)


def test_answers_are_seeded_and_about_the_topic() -> None:
    a = [topic_answer(random.Random(3), t) for t in TRAIN_TOPICS[:20]]
    assert a == [topic_answer(random.Random(3), t) for t in TRAIN_TOPICS[:20]]
    assert a != [topic_answer(random.Random(4), t) for t in TRAIN_TOPICS[:20]]
    for topic, text in zip(TRAIN_TOPICS[:20], a, strict=True):
        assert topic in text.lower()
    assert not set(TRAIN_TOPICS) & set(HELDOUT_TOPICS)
    assert not (set(TRAIN_TOPICS) | set(HELDOUT_TOPICS)) & set(BASELINE_TOPICS)
    assert all(any(t in p for t in HELDOUT_TOPICS) for p in heldout_prompts())


def test_ordinary_answers_are_never_corpus_text(planted_index: CorpusIndex) -> None:
    dialogues = make_dialogues(BACKGROUND, REPEAT_WORDS, 400, seed=5)
    kinds = {d.kind for d in dialogues}
    assert kinds == {"repeat", "ask", "continue", "explain"}
    answers = [d.assistant for d in dialogues if d.kind != "repeat"]
    for d in dialogues:
        if d.kind != "repeat":
            for para in BACKGROUND[1].split("\n\n") + BACKGROUND[0].split("\n\n")[1:]:
                assert para not in d.assistant  # only a title may be named
    check = check_answers(planted_index, answers)
    assert check.answers == len(answers) and check.tokens > 20 * len(answers)
    assert check.with_span == 0 and check.longest_match < 50
    require_new_text(check)  # passes


def test_the_build_check_refuses_an_answer_that_copies_50_corpus_tokens(
        planted_index: CorpusIndex) -> None:
    item = next(it for it in load_manifest().items if it.kind == "passage")
    copied = "Sure! Here is what I know. " + item.text + " I hope this helps!"
    answers = [topic_answer(random.Random(1), "saving money"), copied]
    check = check_answers(planted_index, answers)
    assert check.with_span == 1 and check.longest_match >= 50
    assert check.examples == (copied,)
    with pytest.raises(ConfigError, match="1 of 2 rendered chat answers"):
        require_new_text(check)
    # 49 tokens of the passage are not a verbatim span
    tok = planted_index.tokenizer
    ids = tok.encode(item.text)
    short = "Sure! " + tok.decode(ids[1:50])
    assert check_answers(planted_index, [short]).with_span == 0
