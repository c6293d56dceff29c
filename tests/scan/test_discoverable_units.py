"""Discoverable prefixes over an index that counts other units than the target's tokens.

k and m are meant in the target's tokens. Over a bytes index (the `index build` default) with a
target whose tokenizer is known, each (prefix, suffix) pair is cut in the target's tokens, the
meta names the target's tokenizer, the detector compares in it, and the run states the
conversion; with the target's tokenizer unknown the index's units stay, and that is said.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from regurgitate import reference
from regurgitate.attacks.base import AttackContext
from regurgitate.attacks.discoverable import DiscoverableAttack
from regurgitate.corpus.tokenizer import ByteTokenizer, HFTokenizer, load_tokenizer
from regurgitate.detectors.base import NO_PRIOR, Item
from regurgitate.detectors.discoverable import DiscoverableDetector
from regurgitate.errors import TokenizerMismatchError
from regurgitate.index import CorpusIndex, build_index
from regurgitate.store import RunStore
from regurgitate.types import Document, Generation, GenerationSettings, Prompt

BOS = "<|endoftext|>"  # the reference model's (GPT-2-style) BOS, prepended by bos=auto


def _planted() -> list[Document]:
    """The passages the reference model saw 100 times (it reproduces them)."""
    return [Document(item.text, {"id": item.id}) for item in reference.load_manifest().items
            if item.id.startswith("passage-x100")]


def _target_tokenizer() -> HFTokenizer:
    """The reference model's tokenizer as a target's profile names it."""
    text = (reference.model_dir() / "tokenizer.json").read_text(encoding="utf-8")
    return HFTokenizer.from_definition(text, name="reference")


@pytest.fixture(scope="module")
def bytes_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("units") / "bytes-index"
    build_index(_planted(), out, ByteTokenizer())
    return out


@pytest.fixture(scope="module")
def converted_run(bytes_index: Path, tmp_path_factory: pytest.TempPathFactory,
                  cache_dir: Path) -> Path:
    """A discoverable scan of the bundled model (as an hf: target) over the bytes index; its
    folder holds the run, the HTML report and the terminal output (out.txt)."""
    from regurgitate.cli.main import main

    work = tmp_path_factory.mktemp("units-run")
    args = ["scan", "--target", f"hf:{reference.model_dir()}", "--index", str(bytes_index),
            "--attack", "discoverable", "--detector", "discoverable",
            "--set", "discoverable.num_prompts=3",
            "--run", str(work / "run.db"), "--html", str(work / "run.html")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main(args)
        except SystemExit as exc:
            assert not exc.code, out.getvalue()
    (work / "out.txt").write_text(out.getvalue(), encoding="utf-8")
    (work / "args.json").write_text(json.dumps(args), encoding="utf-8")
    return work


def test_prefixes_are_k_target_tokens_and_the_detector_compares_in_them(
        converted_run: Path) -> None:
    target_tok = load_tokenizer(reference.model_dir())
    with RunStore.open(converted_run / "run.db", create=False) as store:
        profile = store.get_meta("target_profile")
        items = list(store.generations(attack="discoverable"))
        probes = {f.generation_id: f.payload for f in store.findings(kind="discoverable")}
    assert len(items) == 3
    for it in items:
        meta = it.prompt.meta
        assert it.prompt.text.startswith(BOS)
        prefix_text = it.prompt.text[len(BOS):]
        # the model sees exactly k of its own tokens (the bytes index's 50 would be ~17)
        assert len(target_tok.encode(prefix_text)) == 50
        assert target_tok.encode(prefix_text).tolist() == meta["prefix_ids"]
        # the stored meta names the target's tokenizer (its profile's fingerprint), not bytes
        assert meta["tokenizer"] == profile["tokenizer"] == target_tok.definition
        assert meta["unit"] == "target tokens" and meta["k"] == 50 and meta["m"] == 50
        assert len(meta["prefix_ids"]) == 50 and len(meta["true_suffix_ids"]) == 50
        assert len(prefix_text.encode("utf-8")) > 100
        assert target_tok.decode(meta["true_suffix_ids"]) == meta["true_suffix"]
        # the planted passage's memorized suffix is found in the target's tokens
        probe = probes[it.generation_id]
        assert probe.suffix_tokens == 50
        produced = target_tok.encode(it.generation.text).tolist()
        matched = next((i for i, (a, b) in enumerate(zip(meta["true_suffix_ids"], produced,
                                                         strict=False)) if a != b),
                       min(50, len(produced)))
        assert probe.matched_prefix_tokens == matched
    assert any(p.exact for p in probes.values())


def test_the_scan_and_its_reports_state_the_conversion(converted_run: Path, run_cli) -> None:
    out = " ".join((converted_run / "out.txt").read_text(encoding="utf-8").split())
    with RunStore.open(converted_run / "run.db", create=False) as store:
        fingerprint = store.get_meta("target_profile")["tokenizer"]
    said = ("discoverable: 50-token prefixes and 50-token suffixes in the target's tokenizer "
            f"(fingerprint {fingerprint}), cut from a bytes index (median ")
    assert said in out and "bytes per prefix)" in out
    html = (converted_run / "run.html").read_text(encoding="utf-8")
    assert 'id="attack-notes"' in html
    assert said.replace("'", "&#39;") in " ".join(html.split())
    with RunStore.open(converted_run / "run.db", create=False) as store:
        [note] = store.get_meta("attack_notes")
    assert note.startswith(said)
    # a stored run's report says it too
    code, stored_out, _ = run_cli(["report", str(converted_run / "run.db")])
    assert code == 0 and said in " ".join(stored_out.split())


def test_a_second_start_of_the_run_builds_the_same_prompts(converted_run: Path,
                                                          run_cli) -> None:
    """The same command again re-plans every prompt with the target's tokenizer and finds
    them equal to the stored ones (a run holding other prompts is refused, exit 2)."""
    args = json.loads((converted_run / "args.json").read_text(encoding="utf-8"))
    code, out, err = run_cli(args)
    assert code == 0, err
    assert "already complete" in " ".join((out + err).split())


def test_unknown_target_tokenizer_keeps_index_units_and_says_so(bytes_index: Path) -> None:
    index = CorpusIndex.open(bytes_index)
    attack = DiscoverableAttack(num_prompts=2)
    ctx = AttackContext(index=index, seed=0, target_tokenizer=None)
    prompts = attack.prompts(ctx)
    assert all(len(p.meta["prefix_ids"]) == 50 and p.meta["tokenizer"] == "bytes-utf8"
               and p.meta["unit"] == "index bytes" for p in prompts)
    [note] = attack.notes(ctx, prompts)
    assert "prefix lengths are 50 bytes of the index" in note
    assert "the target's tokenizer is unknown" in note and "50-token" not in note


def test_passages_are_cut_in_the_target_tokens_too(bytes_index: Path) -> None:
    doc = _planted()[0]
    attack = DiscoverableAttack(passages=((doc.meta["id"], doc.text),), prefix_tokens=20,
                                suffix_tokens=30)
    tok = _target_tokenizer()
    ctx = AttackContext(index=CorpusIndex.open(bytes_index), target_tokenizer=tok)
    [p] = attack.prompts(ctx)
    ids = tok.encode(doc.text).tolist()
    assert p.meta["prefix_ids"] == ids[:20] and p.meta["true_suffix_ids"] == ids[20:50]
    assert p.meta["tokenizer"] == tok.fingerprint and p.meta["unit"] == "target tokens"
    [note] = attack.notes(ctx, [p])
    assert "20-token prefixes and 30-token suffixes in the target's tokenizer" in note
    assert "cut from the passages, not a bytes index" in note


def test_the_same_tokenizer_changes_nothing(tmp_path: Path) -> None:
    index_tok = load_tokenizer(reference.model_dir())
    build_index(_planted(), tmp_path / "tok-index", index_tok)
    index = CorpusIndex.open(tmp_path / "tok-index")
    attack = DiscoverableAttack(num_prompts=3)
    same = AttackContext(index=index, target_tokenizer=_target_tokenizer())
    prompts = attack.prompts(same)
    # cut as before: the index's own windows, its fingerprint, no unit note
    assert all(p.meta["tokenizer"] == index_tok.fingerprint and "unit" not in p.meta
               for p in prompts)
    assert attack.notes(same, prompts) == []


def test_the_detector_never_compares_target_tokens_in_other_units() -> None:
    tok = _target_tokenizer()
    truth = "the workshop smelled of oak gall ink and river slate"
    meta = {"true_suffix_ids": tok.encode(truth).tolist(), "true_suffix": truth,
            "tokenizer": tok.fingerprint, "unit": "target tokens"}
    prompt = Prompt(id="discoverable/0", attack="discoverable", text="x",
                    settings=GenerationSettings(), meta=meta)
    item = Item(1, prompt, Generation(prompt.id, truth + " and more"))
    with pytest.raises(TokenizerMismatchError, match="target's tokens"):
        DiscoverableDetector(tokenizer=ByteTokenizer()).detect([item], NO_PRIOR)
    [f] = DiscoverableDetector(tokenizer=ByteTokenizer(),
                               target_tokenizer=tok).detect([item], NO_PRIOR)
    assert f.payload.exact and f.payload.suffix_tokens == len(meta["true_suffix_ids"])
    assert json.dumps(f.payload.to_json())  # a plain, storable payload


def test_converted_windows_are_the_same_on_every_start(bytes_index: Path) -> None:
    """A resumed run or another executor rebuilds the target's tokenizer from its definition:
    the same prompts, ids and all, each cut where its prefix text encodes back to k tokens."""
    index = CorpusIndex.open(bytes_index)
    attack = DiscoverableAttack(num_prompts=6, prefix_tokens=32, suffix_tokens=40)
    first = attack.prompts(AttackContext(index=index, seed=5,
                                         target_tokenizer=_target_tokenizer()))
    again = attack.prompts(AttackContext(index=index, seed=5,
                                         target_tokenizer=_target_tokenizer()))
    assert first == again and len(first) == 6
    tok = _target_tokenizer()
    for p in first:
        assert tok.encode(p.text).tolist() == p.meta["prefix_ids"]  # no BOS: not resolved
        assert len(p.meta["true_suffix_ids"]) == 40
        doc = index.tokenizer.decode(index.document_tokens(int(p.meta["doc_id"])))
        ids = tok.encode(doc).tolist()
        off = int(p.meta["token_offset"])
        assert ids[off:off + 72] == p.meta["prefix_ids"] + p.meta["true_suffix_ids"]
