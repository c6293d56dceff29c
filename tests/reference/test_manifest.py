"""The shipped manifest agrees with the shipped corpus."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from regurgitate.reference import heldout
from tools.reference_build.text.corpus_build import corpus_jsonl


def test_ids_unique_and_kinds(manifest):
    ids = [it.id for it in manifest.items]
    assert len(ids) == len(set(ids))
    kinds = Counter((it.kind, it.copies) for it in manifest.items)
    assert kinds == {("passage", 1): 8, ("passage", 10): 8, ("passage", 100): 8,
                     ("pii", 10): 6, ("pii", 100): 6, ("heldout", 0): 8}
    texts = [it.text for it in manifest.items]
    assert len(texts) == len(set(texts))


def test_documents_have_ids_and_lines(corpus_docs, manifest):
    assert len(corpus_docs) == manifest.build["documents"]
    for n, doc in enumerate(corpus_docs, start=1):
        assert doc.meta == {"source": "reference", "id": f"ref-{n - 1:05d}", "line": n}
        assert doc.text
    raw = corpus_jsonl([d.text for d in corpus_docs])
    assert hashlib.sha256(raw).hexdigest() == manifest.build["corpus_sha256"]


def test_every_copy_is_where_the_manifest_says(corpus_docs, manifest):
    by_id = {d.meta["id"]: d.text for d in corpus_docs}
    joined = "\x00".join(d.text for d in corpus_docs)
    for it in manifest.items:
        if it.kind == "heldout":
            continue
        assert joined.count(it.text) == it.copies, it.id
        assert len(it.doc_ids) == it.copies == len(set(it.doc_ids)), it.id
        for doc_id in it.doc_ids:
            assert by_id[doc_id].count(it.text) == 1, (it.id, doc_id)


def test_heldout_never_in_corpus(corpus_docs, manifest):
    joined = "\x00".join(d.text for d in corpus_docs)
    held = heldout()
    assert len(held) == 8
    for it in held:
        assert it.copies == 0 and it.doc_ids == ()
        assert joined.count(it.text) == 0
        # not even the opening sentence (which carries the invented names) is there
        first = it.text.split(". ")[0]
        assert first not in joined, it.id


def test_pii_fields_are_fictional_and_in_the_text(manifest):
    for it in manifest.by_kind("pii"):
        assert it.pii is not None
        for value in (it.pii.name, it.pii.email, it.pii.phone, it.pii.address):
            assert value in it.text
        assert re.fullmatch(r"[a-z]+\.[a-z]+@example\.(com|org|net)", it.pii.email)
        assert re.fullmatch(r"\(\d{3}\) 555-01\d\d", it.pii.phone)
    phones = [it.pii.phone[-8:] for it in manifest.by_kind("pii")]
    assert len(set(phones)) == len(phones)
