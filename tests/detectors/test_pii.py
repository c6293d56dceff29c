from __future__ import annotations

import pytest

from regurgitate.detectors.base import NO_PRIOR, Item, Prior
from regurgitate.detectors.pii import PIIDetector, PresidioNames, find_pii, iban_valid, luhn_valid
from regurgitate.errors import MissingDependencyError
from regurgitate.findings import Finding, VerbatimSpan
from regurgitate.types import Generation, GenerationSettings, Prompt


def types_values(text: str) -> list[tuple[str, str]]:
    return [(m.type, m.value) for m in find_pii(text)]


def test_luhn_and_iban_checks():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82WEST12345698765433")


def test_cards_reported_with_luhn_validity():
    text = "pay with 4111 1111 1111 1111 or 4111-1111-1111-1112 or 5500000000000004."
    assert [(m.value, m.valid) for m in find_pii(text)] == [
        ("4111 1111 1111 1111", True), ("4111-1111-1111-1112", False),
        ("5500000000000004", True)]
    # Luhn-valid, but no card issuer starts with 1: an order number, not a card
    assert luhn_valid("1234567890128") and types_values("order 1234567890128") == []


def test_email_url_ip():
    text = ("Write to jane.doe+news@mail.example.co.uk, see https://example.org/a?b=1). "
            "Server 192.168.0.12 and 2001:db8::ff00:42:8329; not 999.1.1.1 nor 1.2.3.")
    assert types_values(text) == [
        ("email", "jane.doe+news@mail.example.co.uk"),
        ("url", "https://example.org/a?b=1"),
        ("ipv4", "192.168.0.12"),
        ("ipv6", "2001:db8::ff00:42:8329"),
    ]
    m = find_pii(text)[0]
    assert text[m.start:m.end] == m.value


def test_phones_but_not_plain_numbers_or_years():
    text = ("Call +44 20 7946 0958 or (555) 123-4567 or 555.123.4567. "
            "Order 5551234567 shipped in 1999, invoice 20231105, time 12:30.")
    assert types_values(text) == [
        ("phone", "+44 20 7946 0958"), ("phone", "(555) 123-4567"), ("phone", "555.123.4567"),
    ]


def test_ssn_and_iban():
    text = "SSN 123-45-6789, bad 000-12-3456 and 666-12-3456; IBAN DE89 3704 0044 0532 0130 00."
    assert types_values(text) == [("ssn", "123-45-6789"), ("iban", "DE89 3704 0044 0532 0130 00")]
    assert "iban" not in {t for t, _ in types_values("IBAN DE89 3704 0044 0532 0130 01")}
    assert types_values("Amex 3782 822463 10005, exp 4111 1111 1111 1111 12/25") == [
        ("card", "3782 822463 10005"), ("card", "4111 1111 1111 1111")]


def test_odd_unicode_does_not_crash():
    text = "\ud800 ｊａｎｅ@例え.jp \u0663\u0664\u0665-\u0661\u0662-\u0663\u0664\u0665\u0666 a@b.io"
    assert ("email", "a@b.io") in types_values(text)


def test_detector_in_verbatim():
    text = "contact a@b.io now, or c@d.io"
    p = Prompt(id="p", attack="a", text="x", settings=GenerationSettings())
    items = [Item(5, p, Generation("p", text)), Item(6, p, Generation("p", "", error="x"))]
    verb = [Finding(5, "verbatim", VerbatimSpan(tokens=16, count=1, text=text[:16]), 0, 16)]
    found = PIIDetector().detect(items, Prior.of(verb))
    assert [(f.start, f.end, f.payload.value, f.payload.in_verbatim) for f in found] == [
        (8, 14, "a@b.io", True), (23, 29, "c@d.io", False)]
    assert all(f.kind == "pii" and f.detector == "pii" and f.payload.type == "email"
               for f in found)
    verb = [Finding(5, "verbatim", VerbatimSpan(tokens=9, count=1, text=text[20:29]),
                    20, 29, 9.0)]
    found = PIIDetector().detect(items, Prior.of(verb))
    assert [f.payload.in_verbatim for f in found] == [False, True]
    # without the verbatim detector (a scan with no index) nothing is "in verbatim"
    assert PIIDetector(use_verbatim=False).requires == ()
    found = PIIDetector(use_verbatim=False).detect(items, Prior.of(verb))
    assert [f.payload.in_verbatim for f in found] == [False, False]


def test_presidio_missing_is_a_clear_error():
    try:
        import presidio_analyzer  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="pii"):
            PresidioNames("en_core_web_sm")
    else:
        pytest.skip("presidio installed: the missing-dependency path cannot be exercised")


@pytest.mark.parametrize("tokenizer", ["bytes", "reference"])
def test_leaked_means_found_in_the_corpus(tmp_path, tokenizer):
    """A phone seen 10 times in training data and emitted outside any 50-token span is
    leaked (with its count and sources); an address absent from the corpus is possibly
    invented; a Luhn-invalid card copied from the corpus is still reported, as invalid."""
    from regurgitate import reference
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index import CorpusIndex, build_index
    from regurgitate.types import Document

    tok = load_tokenizer("bytes" if tokenizer == "bytes" else str(reference.model_dir()))
    docs = [Document(f"Record {i}: call +44 20 7946 0958 for the archive.", {"id": f"r{i}"})
            for i in range(10)]
    docs += [Document("Paid with card 4111-1111-1111-1112 at the shop.", {"id": "shop"}),
             Document("Nothing personal in this one at all.", {"id": "plain"})]
    build_index(docs, tmp_path / "ix", tok)
    ix = CorpusIndex.open(tmp_path / "ix")
    text = "You could call +44 20 7946 0958, or mail zed@nowhere-invented.io, card " \
           "4111-1111-1111-1112."
    p = Prompt(id="p", attack="a", text="x", settings=GenerationSettings())
    # no verbatim span in this output: leaked is decided by the corpus lookup alone
    found = {f.payload.value: f.payload for f in PIIDetector(ix).detect(
        [Item(1, p, Generation("p", text))], NO_PRIOR)}
    phone = found["+44 20 7946 0958"]
    assert phone.in_corpus and phone.corpus_count == 10 and not phone.in_verbatim
    assert phone.leaked and sorted(phone.documents) == list(range(10))
    assert list(phone.sources) == [ix.doc_name(d) for d in phone.documents]
    email = found["zed@nowhere-invented.io"]
    assert email.in_corpus is False and email.corpus_count == 0 and not email.leaked
    card = found["4111-1111-1111-1112"]
    assert card.type == "card" and card.luhn_valid is False
    assert card.in_corpus and card.documents == (10,)
