"""Attacks: deterministic prompts with unique ids, correct truth in meta, clear errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from regurgitate.attacks.base import AttackContext
from regurgitate.attacks.discoverable import DiscoverableAttack, write_guess_csv
from regurgitate.attacks.divergence import DivergenceAttack
from regurgitate.attacks.sample_rank import SampleRankAttack
from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.errors import ConfigError
from regurgitate.registry import make_attack

CTX = AttackContext(index=None, seed=3)


def test_divergence_prompts_cover_words_repeats_templates_and_are_stable() -> None:
    attack = DivergenceAttack(words=("poem", "book"), repeats=(1, 3), samples=2)
    prompts = attack.prompts(CTX)
    assert len(prompts) == 2 * 2 * len(attack.templates) * 2
    assert len({p.id for p in prompts}) == len(prompts)
    assert [p.id for p in prompts] == [p.id for p in attack.prompts(CTX)]
    first = prompts[0]
    assert first.meta["word"] == "poem"
    assert '"poem"' in first.messages[0]["content"]
    assert first.text.endswith("poem poem poem")
    three = next(p for p in prompts if p.meta["word_repeats"] == 3)
    assert '"poem poem poem"' in three.messages[0]["content"]
    # different samples get different seeds so sampling differs
    assert len({p.settings.seed for p in prompts}) == len(prompts)


@pytest.mark.parametrize("kwargs", [{"words": ("two words",)}, {"repeats": (0,)},
                                    {"templates": ("no placeholder",)}])
def test_divergence_rejects_bad_configuration(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        DivergenceAttack(**kwargs)


def test_discoverable_from_passages_splits_prefix_and_true_suffix() -> None:
    text = "The quick brown fox jumps over the lazy dog while the cat watches. " * 3
    attack = DiscoverableAttack(passages=(("p1", text),), prefix_tokens=20, suffix_tokens=30,
                                tokenizer="bytes")
    (prompt,) = attack.prompts(CTX)
    assert prompt.text == text[:20]
    assert prompt.meta["true_suffix"] == text[20:50]
    assert prompt.meta["true_suffix_ids"] == list(text[20:50].encode())
    assert prompt.meta["passage_id"] == "p1"
    assert prompt.settings.greedy and prompt.settings.max_new_tokens == 30


def test_discoverable_preset_and_short_passage_error() -> None:
    assert DiscoverableAttack(preset="pythia").prefix_tokens == 32
    with pytest.raises(ConfigError, match="preset"):
        DiscoverableAttack(preset="nope")
    # counted in the units of its tokenizer, never bytes called tokens
    with pytest.raises(ConfigError, match="has 3 bytes; .* needs more than 50 bytes"):
        DiscoverableAttack(passages=(("short", "abc"),), tokenizer="bytes").prompts(CTX)
    with pytest.raises(ConfigError, match="index"):
        DiscoverableAttack().prompts(CTX)


def test_lm_extraction_benchmark_arrays_and_guess_csv(tmp_path) -> None:
    tok = ByteTokenizer()
    rows = ["a" * 60 + "b" * 50, "c" * 60 + "d" * 50]
    ids = np.array([list(r.encode()) for r in rows], dtype=np.uint16)
    np.save(tmp_path / "prefix.npy", ids[:, :60])
    np.save(tmp_path / "suffix.npy", ids[:, 60:])
    attack = DiscoverableAttack(prefix_npy=str(tmp_path / "prefix.npy"),
                                suffix_npy=str(tmp_path / "suffix.npy"), tokenizer="bytes")
    prompts = attack.prompts(CTX)
    assert [p.meta["example_id"] for p in prompts] == [0, 1]
    assert prompts[1].text == "c" * 50  # the last k=50 prefix tokens
    assert prompts[1].meta["true_suffix"] == "d" * 50
    n = write_guess_csv(tmp_path / "guess.csv", [(0, tok.encode("x" * 50), 0.2),
                                                 (1, tok.encode("d" * 50), 0.9)])
    assert n == 2
    with open(tmp_path / "guess.csv", newline="") as fh:
        got = list(csv.DictReader(fh))
    assert [r["Example ID"] for r in got] == ["1", "0"]  # most confident first
    assert list(map(int, got[0]["Suffix Guess"][1:-1].split(","))) == [ord("d")] * 50


def test_benchmark_arrays_need_a_tokenizer_and_both_files(tmp_path) -> None:
    with pytest.raises(ConfigError):
        DiscoverableAttack(prefix_npy="p.npy")
    with pytest.raises(ConfigError, match="tokenizer"):
        DiscoverableAttack(prefix_npy="p.npy", suffix_npy="s.npy")


def test_sample_rank_cycles_openings_with_distinct_seeds() -> None:
    prompts = SampleRankAttack(num_samples=10, openings=("", "The")).prompts(CTX)
    assert [p.text for p in prompts[:4]] == ["", "The", "", "The"]
    assert len({p.settings.seed for p in prompts}) == 10


def test_registry_converts_string_options_and_suggests_names() -> None:
    attack = make_attack("divergence", {"words": "poem,company", "repeats": "1,40",
                                        "max_new_tokens": "64"})
    assert attack.words == ("poem", "company") and attack.repeats == (1, 40)
    assert attack.max_new_tokens == 64
    with pytest.raises(ConfigError, match="did you mean 'divergence'"):
        make_attack("divergance")
    with pytest.raises(ConfigError, match="did you mean 'max_new_tokens'"):
        make_attack("divergence", {"max_new_token": "3"})
    with pytest.raises(ConfigError, match="expects int"):
        make_attack("sample-rank", {"num_samples": "many"})


def test_discoverable_passages_from_files_slide_windows(tmp_path) -> None:

    works = tmp_path / "works.jsonl"
    book = "".join(chr(97 + i % 26) for i in range(100))
    works.write_text(json.dumps({"id": "book-1", "text": book}) + "\n"
                     + json.dumps({"text": "short work of 12"}) + "\n", encoding="utf-8")
    # as the command line gives it: --set discoverable.passages=FILE
    attack = make_attack("discoverable", {"passages": str(works), "prefix_tokens": "10",
                                          "suffix_tokens": "20", "tokenizer": "bytes"})
    prompts = attack.prompts(CTX)
    book_prompts = [p for p in prompts if p.meta["passage_id"] == "book-1"]
    assert [p.meta["token_offset"] for p in book_prompts] == [0, 30, 60]  # back to back
    assert book_prompts[1].text == book[30:40]
    assert book_prompts[1].meta["true_suffix"] == book[40:60]
    (short,) = [p for p in prompts if p.meta["passage_id"] != "book-1"]
    assert short.meta["passage_id"] == "works.jsonl:2" and short.meta["true_suffix"] == " of 12"
    assert len({p.id for p in prompts}) == len(prompts)
    strided = make_attack("discoverable", {"passages": str(works), "prefix_tokens": "10",
                                           "suffix_tokens": "20", "tokenizer": "bytes",
                                           "stride": "25", "max_windows": "2"})
    offsets = [p.meta["token_offset"] for p in strided.prompts(CTX)
               if p.meta["passage_id"] == "book-1"]
    assert offsets == [0, 25]
    text_file = tmp_path / "novel.txt"
    text_file.write_text(book, encoding="utf-8")
    one = make_attack("discoverable", {"passages": str(text_file), "prefix_tokens": "10",
                                       "suffix_tokens": "20", "tokenizer": "bytes"})
    assert {p.meta["passage_id"] for p in one.prompts(CTX)} == {"novel.txt"}
    with pytest.raises(ConfigError, match="no such file"):
        make_attack("discoverable", {"passages": str(tmp_path / "missing.jsonl")})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"body": "x"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="text field"):
        make_attack("discoverable", {"passages": str(bad)})


def test_discoverable_bos_follows_the_target_tokenizer() -> None:
    from transformers import AutoTokenizer

    from regurgitate import reference
    from regurgitate.attacks.discoverable import resolve_bos
    from regurgitate.targets.profile import TargetProfile, tokenizer_facts

    tokenizer = AutoTokenizer.from_pretrained(str(reference.model_dir()), local_files_only=True)
    # what resolve_bos reads: the profile the driver resolved from the target's tokenizer
    profile = TargetProfile(**tokenizer_facts(tokenizer))
    assert profile.bos_token == "<|endoftext|>" and not profile.adds_bos
    text = "The quick brown fox jumps over the lazy dog while the cat watches. " * 2
    base = DiscoverableAttack(passages=(("p1", text),), prefix_tokens=20, suffix_tokens=30,
                              tokenizer="bytes")
    auto = resolve_bos(base, profile)
    (prompt,) = auto.prompts(CTX)
    # GPT-2-style: documents were preceded by <|endoftext|>, which the tokenizer never adds
    assert prompt.text == "<|endoftext|>" + text[:20] and prompt.meta["bos"] is True
    assert tokenizer(prompt.text)["input_ids"][0] == tokenizer.bos_token_id
    no = resolve_bos(DiscoverableAttack(passages=(("p1", text),), prefix_tokens=20,
                                        suffix_tokens=30, tokenizer="bytes", bos="no"), profile)
    assert no.prompts(CTX)[0].text == text[:20]
    # a tokenizer that adds its BOS by itself gets none written in the text
    adds = TargetProfile(bos_token="<s>", adds_bos=True)
    assert resolve_bos(base, adds).prompts(CTX)[0].text == text[:20]
    assert resolve_bos(base, TargetProfile()).prompts(CTX)[0].text == text[:20]  # HTTP API
    with pytest.raises(ConfigError, match="BOS"):
        resolve_bos(DiscoverableAttack(passages=(("p1", text),), tokenizer="bytes",
                                       bos="yes"), TargetProfile())
    with pytest.raises(ConfigError, match="bos"):
        DiscoverableAttack(bos="maybe")
