from __future__ import annotations

import pytest

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.detectors.base import NO_PRIOR, Item
from regurgitate.detectors.discoverable import DiscoverableDetector
from regurgitate.types import Generation, GenerationSettings, Prompt

SUFFIX = list(range(10, 60))


def run(meta, gen: Generation, **kw):
    p = Prompt(id="p", attack="discoverable", text="prefix", settings=GenerationSettings(),
               meta=meta)
    return DiscoverableDetector(**kw).detect([Item(3, p, gen)], NO_PRIOR)


def test_exact_by_token_ids():
    [f] = run({"true_suffix_ids": SUFFIX, "passage_id": 9},
              Generation("p", "x", token_ids=tuple(SUFFIX + [1, 2])))
    assert f.kind == "discoverable" and f.generation_id == 3
    assert f.score == 1.0
    assert f.payload.to_json() == {"exact": True, "matched_prefix_tokens": 50,
                                   "suffix_tokens": 50, "edit_similarity": 1.0,
                                   "approximate": True, "passage_id": 9, "bos": False,
                                   "np": None}


def test_partial_by_token_ids():
    ids = SUFFIX[:20] + [999] + SUFFIX[21:]
    [f] = run({"true_suffix_ids": SUFFIX}, Generation("p", "x", token_ids=tuple(ids)))
    assert f.payload.matched_prefix_tokens == 20 and not f.payload.exact
    assert f.score == pytest.approx(0.4)
    assert f.payload.edit_similarity == pytest.approx(49 / 50)
    assert f.payload.approximate and f.payload.passage_id is None


def test_none_by_text():
    truth = "the cat sat on the mat and looked at the door for a while"
    [f] = run({"true_suffix": truth}, Generation("p", "completely different words here"))
    assert f.score == 0.0 and not f.payload.exact and not f.payload.approximate
    assert f.payload.suffix_tokens == len(truth.split())


def test_text_with_tokenizer_and_approximate():
    truth = "abcdefghijklmnopqrstuvwxyz0123456789"
    gen_text = truth[:30] + "X" + truth[31:] + " and more"
    meta = {"true_suffix_ids": list(truth.encode()), "true_suffix": truth}
    [f] = run(meta, Generation("p", gen_text), tokenizer=ByteTokenizer())
    assert f.payload.matched_prefix_tokens == 30 and f.payload.suffix_tokens == len(truth)
    assert f.payload.edit_similarity == pytest.approx(1 - 1 / len(truth))
    assert f.payload.approximate is True


def test_no_truth_or_failed_generation_gives_nothing():
    assert run({}, Generation("p", "x")) == []
    assert run({"true_suffix": "a b"}, Generation("p", "", error="boom")) == []


def test_np_without_a_model_is_named_not_silently_absent():
    (figure, reason), = DiscoverableDetector().not_computed()
    assert figure == "(n,p) extraction" and "model" in reason
    assert DiscoverableDetector(suffix_scorer=object()).not_computed() == []
