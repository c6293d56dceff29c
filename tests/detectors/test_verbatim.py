from __future__ import annotations

from regurgitate.detectors.base import NO_PRIOR, Item
from regurgitate.detectors.verbatim import VerbatimDetector, unique_sequences
from regurgitate.findings import Finding, PIIHit, VerbatimSpan
from regurgitate.types import Document, Generation, GenerationSettings, Prompt


def item(gid: int, text: str) -> Item:
    p = Prompt(id=f"p{gid}", attack="t", text="x", settings=GenerationSettings())
    return Item(gid, p, Generation(prompt_id=p.id, text=text))


def test_verbatim_spans_with_sources(index_factory, words):
    docs = [Document(words(200, s), {"path": f"d{s}.txt"}) for s in range(4)]
    docs.append(Document("prefix text " + docs[1].text[300:500] + " suffix", {"path": "dup"}))
    index = index_factory(docs)
    planted = docs[1].text[300:420]
    fresh = "zzqx\n" * 10
    gen = fresh + planted + "\nqqqq jjjj " + fresh
    det = VerbatimDetector(index, min_tokens=50, context_chars=40)
    found = det.detect([item(7, gen), item(8, fresh * 3), item(9, "")], NO_PRIOR)
    assert len(found) == 1
    f = found[0]
    assert f.generation_id == 7 and f.detector == "verbatim" and f.kind == "verbatim"
    assert gen[f.start:f.end] == f.payload.text
    assert f.payload.text == planted
    assert f.score == f.payload.tokens == len(f.payload.text.encode())
    assert f.payload.count == 2
    assert f.payload.token_end - f.payload.token_start == f.payload.tokens  # exact range
    assert sorted(f.payload.documents) == [1, 4]
    srcs = {s.doc_id: s for s in f.payload.sources}
    assert set(srcs) == {1, 4}
    assert srcs[1].match == f.payload.text and srcs[1].name == "d1.txt"
    assert len(srcs[1].before) == 40 and len(srcs[1].after) == 40
    assert docs[1].text.find(srcs[1].before + srcs[1].match + srcs[1].after) >= 0


def test_short_match_is_not_verbatim(index_factory, words):
    docs = [Document(words(100, 1))]
    index = index_factory(docs)
    gen = "aaaa " + docs[0].text[10:49] + " bbbb"
    assert VerbatimDetector(index, min_tokens=50).detect([item(1, gen)], NO_PRIOR) == []
    assert len(VerbatimDetector(index, min_tokens=30).detect([item(1, gen)], NO_PRIOR)) == 1


def vf(gid: int, text: str, docs=(0,), count=1) -> Finding:
    return Finding(gid, "verbatim", VerbatimSpan(tokens=len(text), count=count,
                                                 documents=tuple(docs), text=text),
                   0, len(text), float(len(text)))


def test_unique_sequences_merges_equal_and_contained():
    a = "the quick brown fox jumps over the lazy dog " * 2
    b = "lorem ipsum dolor sit amet consectetur " * 2
    findings = [
        vf(1, a), vf(2, a), vf(2, a[5:40], docs=(3,)), vf(3, b), vf(3, b),
        Finding(4, "pii", PIIHit(type="x", value="x"), 0, 3, None),
    ]
    seqs = unique_sequences(findings)
    assert [s.text for s in seqs] == [a, b]
    sa, sb = seqs
    assert sa.occurrences == 3 and sa.generations == 2 and sa.generation_ids == (1, 2)
    # the sequence's documents are its own text's: the contained span's doc 3 holds only a
    # piece of it (issue 10: every reported span names its own sources)
    assert sa.documents == (0,) and sa.tokens == len(a)
    assert sb.occurrences == 2 and sb.generations == 1


def test_unique_sequences_overlap_stays_separate():
    s1, s2 = "abcdefghij" * 3, "fghij" * 3 + "zzzzz"
    assert len(unique_sequences([vf(1, s1), vf(2, s2)])) == 2
    assert unique_sequences([]) == []


def test_verbatim_with_bpe_tokenizer_offsets(tmp_path, words):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from regurgitate.corpus.tokenizer import HFTokenizer
    from regurgitate.index import CorpusIndex, build_index

    docs = [Document(words(300, s) + " Zoë café ünïcode", {"path": f"f{s}.txt", "line": 3})
            for s in range(3)]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([d.text for d in docs], trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(tmp_path / "tokenizer.json"))
    build_index(docs, tmp_path / "ix", HFTokenizer(tmp_path / "tokenizer.json"))
    index = CorpusIndex.open(tmp_path / "ix")
    planted = docs[2].text[-400:]
    gen = "Ünrelated ☃ preface!\n" + planted + "\n☃"
    [f] = VerbatimDetector(index, min_tokens=50, context_chars=30).detect([item(1, gen)], NO_PRIOR)
    assert f.payload.text == gen[f.start:f.end]
    assert planted.strip() in f.payload.text or f.payload.text in planted
    assert len(f.payload.text) >= len(planted) - 10
    assert f.payload.tokens == f.score >= 50
    src = f.payload.sources[0]
    assert src.doc_id == 2 and src.name == "f2.txt:3"
    assert src.match == f.payload.text and docs[2].text.endswith(src.match)
    assert len(src.before) == 30 and src.after == ""


def test_overlapping_matches_are_separate_findings_with_their_own_sources(tmp_path) -> None:
    from regurgitate.corpus.tokenizer import ByteTokenizer
    from regurgitate.detectors import VerbatimDetector
    from regurgitate.detectors.base import NO_PRIOR, Item
    from regurgitate.index import CorpusIndex, build_index
    from regurgitate.types import Document, Generation, GenerationSettings, Prompt

    left = "The lighthouse keeper wrote every evening in a green ledger"
    right = " in a green ledger that nobody else was allowed to open, ever, at all."
    build_index([Document(left + "."), Document("Yes:" + right)], tmp_path / "ix",
                ByteTokenizer())
    ix = CorpusIndex.open(tmp_path / "ix")
    text = "<<" + left + right[len(" in a green ledger"):] + ">>"
    item = Item(1, Prompt("p", "a", "", GenerationSettings()), Generation("p", text))
    first, second = VerbatimDetector(ix, min_tokens=20).detect([item], NO_PRIOR)
    # the union of the two matches occurs nowhere: each is reported with its own sources
    assert first.payload.text == left and second.payload.text == right
    assert [s.doc_id for s in first.payload.sources] == list(first.payload.documents) == [0]
    assert [s.doc_id for s in second.payload.sources] == list(second.payload.documents) == [1]
    assert first.end > second.start  # they overlap by " in a green ledger"
    for f in (first, second):
        assert ix.count(ix.tokenizer.encode(f.payload.text)) == f.payload.count == 1
        assert f.payload.token_end - f.payload.token_start == f.payload.tokens


def test_a_repeated_word_is_one_finding_for_its_periodic_run(index_factory, words):
    """A diverged output repeating a word against a corpus run of it: one finding standing
    for every span (one per period), its JSON about the output's size, stored and read
    back; a version-1 payload (one span, no run) still reads."""
    import json

    from regurgitate.findings import VerbatimRun, payload_from_json

    index = index_factory([Document(words(200, 1)), Document("poem " * 300)])
    gen = words(30, 2) + " " + "poem " * 2000 + words(30, 3)
    found = VerbatimDetector(index, min_tokens=50).detect([item(1, gen)], NO_PRIOR)
    runs = [f for f in found if f.payload.run is not None]
    assert len(runs) == 1 and len(found) <= 3  # the run's edges may be spans of their own
    f = runs[0]
    span, run = f.payload, f.payload.run
    assert isinstance(run, VerbatimRun) and run.unit.strip() == "poem" and run.spans > 1000
    assert run.period_chars == run.period_tokens == 5 and len(span.text) == 1500
    # every span of the run: the finding's text, one every period from its start
    assert gen[f.start:f.start + len(span.text)] == span.text
    last = f.start + (run.spans - 1) * run.period_chars
    assert gen[last:f.end] == span.text and run.token_end == f.end  # bytes: tokens = chars
    assert index.count(index.tokenizer.encode(span.text)) == span.count == 1
    payload = json.dumps(span.to_json())
    assert len(payload) < 3 * len(gen)
    back = payload_from_json("verbatim", VerbatimSpan.version, json.loads(payload))
    assert back == span
    old = payload_from_json("verbatim", 1, {"tokens": 60, "count": 2, "text": "x" * 60})
    assert isinstance(old, VerbatimSpan) and old.run is None and old.run_token_end is None
