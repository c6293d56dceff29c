"""Personal data in generations: offline regex recognizers with checksums, optional presidio NER.

:func:`find_pii` recognizes e-mail addresses, URLs, IPv4/IPv6 addresses, payment card numbers
(13-19 digits starting with an issuer digit 2-6; reported whether or not they pass the Luhn
check, with ``luhn_valid`` saying which: a card number copied from training data is a leak
even when it is not a valid card), IBANs (mod-97 checked), US
SSN-like numbers (area/group/serial rules), and phone numbers (international ``+CC ...`` or
US-style with separators; bare digit runs and years are not phones). When matches overlap,
the more specific type wins (email > url > iban > card > ssn > ip > phone).

:class:`PIIDetector` turns matches into ``pii`` findings. With a corpus ``index`` every item
is looked up in it: ``in_corpus`` (it occurs in the indexed corpus: **leaked**, wherever it
sits in the output), ``corpus_count`` and the ``documents``/``sources`` holding it; absent from
the corpus means possibly invented. ``in_verbatim`` is the separate, stronger flag that the
item lies inside a verbatim span of the same generation (the ``verbatim`` findings it
requires).

Lookup rule: the item's text is encoded alone and with a leading space (BPE tokenizers encode
a word differently after a space); the variant that occurs most often gives the count and the
documents, a lower bound when the corpus tokenized the item in yet another way.
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from regurgitate.detectors.base import Detector, DetectorContext, IndexLike, Item, Prior
from regurgitate.errors import ConfigError, optional_import
from regurgitate.findings import Finding, PIIHit
from regurgitate.options import convert_options


@dataclass(frozen=True)
class PIIMatch:
    type: str
    start: int
    end: int
    value: str
    #: for cards: whether the digits pass the Luhn check (None for other types)
    valid: bool | None = None


_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+"
                    r"[A-Za-z]{2,24}(?![\w-])")
_URL = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"'`]+", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_CARD = re.compile(  # unbroken digits, or groups 4-4-4-(1..7) / 4-6-(4..5) with one separator
    r"(?<![\w-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{4,5})"
    r"(?![\w-])")
_CARD_FIRST_DIGITS = "23456"  # issuer prefixes: Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, 6
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_SSN = re.compile(r"(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w-])")
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?![\w-])")
_PHONE_US = re.compile(
    r"(?<![\w+-])(?:1[ .-])?(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])")

_PRIORITY = ("email", "url", "iban", "card", "ssn", "ipv4", "ipv6", "phone")


def luhn_valid(digits: str) -> bool:
    """Luhn checksum of a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check (spaces ignored)."""
    s = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", s):
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _ssn_valid(m: re.Match[str]) -> bool:
    area, group, serial = m.group(1), m.group(2), m.group(3)
    return (area not in ("000", "666") and not area.startswith("9") and group != "00"
            and serial != "0000")


def _candidates(text: str) -> Iterable[PIIMatch]:
    for m in _EMAIL.finditer(text):
        yield PIIMatch("email", m.start(), m.end(), m.group())
    for m in _URL.finditer(text):
        value = m.group().rstrip(".,;:!?)]}")
        yield PIIMatch("url", m.start(), m.start() + len(value), value)
    for m in _IBAN.finditer(text):
        value = m.group().rstrip()
        if iban_valid(value):
            yield PIIMatch("iban", m.start(), m.start() + len(value), value)
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and digits[0] in _CARD_FIRST_DIGITS:
            yield PIIMatch("card", m.start(), m.end(), m.group(), valid=luhn_valid(digits))
    for m in _SSN.finditer(text):
        if _ssn_valid(m):
            yield PIIMatch("ssn", m.start(), m.end(), m.group())
    for m in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        yield PIIMatch("ipv4", m.start(), m.end(), m.group())
    for m in _IPV6.finditer(text):
        value = m.group()
        if value.count(":") < 2 or not any(c.isalnum() for c in value):
            continue
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            continue
        yield PIIMatch("ipv6", m.start(), m.end(), value)
    for rx in (_PHONE_INTL, _PHONE_US):
        for m in rx.finditer(text):
            n_digits = sum(c.isdigit() for c in m.group())
            if 7 <= n_digits <= 15:
                yield PIIMatch("phone", m.start(), m.end(), m.group())


def find_pii(text: str) -> list[PIIMatch]:
    """All PII matches in ``text``, sorted by position, without overlaps."""
    rank = {t: i for i, t in enumerate(_PRIORITY)}
    cands = sorted(_candidates(text), key=lambda m: (rank[m.type], -(m.end - m.start), m.start))
    kept: list[PIIMatch] = []
    starts: list[int] = []  # kept, sorted by start (non-overlapping): check neighbours only
    by_start: list[PIIMatch] = []
    for c in cands:
        i = bisect.bisect_right(starts, c.start)
        if (i == 0 or by_start[i - 1].end <= c.start) and \
                (i == len(by_start) or c.end <= by_start[i].start):
            kept.append(c)
            starts.insert(i, c.start)
            by_start.insert(i, c)
    return sorted(kept, key=lambda m: (m.start, m.end))


class PresidioNames:
    """Person/location/organization names with presidio and a local spaCy model (extra ``pii``).

    ``model`` is a spaCy model name or path installed by the user; nothing is downloaded.
    """

    def __init__(self, model: str, entities: Sequence[str] = ("PERSON",),
                 language: str = "en") -> None:
        presidio = optional_import("presidio_analyzer", package="presidio-analyzer",
                                   extra="pii", purpose="person-name detection")
        AnalyzerEngine = presidio.AnalyzerEngine
        NlpEngineProvider = optional_import(
            "presidio_analyzer.nlp_engine", package="presidio-analyzer", extra="pii",
            purpose="person-name detection").NlpEngineProvider
        try:
            provider = NlpEngineProvider(nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": language, "model_name": model}],
            })
            self._engine = AnalyzerEngine(nlp_engine=provider.create_engine(),
                                          supported_languages=[language])
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load spaCy model '{model}': {exc}",
                              hint="give an installed spaCy model name or a local path") from exc
        self.entities = list(entities)
        self.language = language

    def __call__(self, text: str) -> list[PIIMatch]:
        results = self._engine.analyze(text=text, entities=self.entities, language=self.language)
        return [PIIMatch(r.entity_type.lower(), r.start, r.end, text[r.start:r.end])
                for r in results]


class PIIDetector(Detector):
    """``pii`` findings for every recognized match (optionally names via :class:`PresidioNames`).

    ``index``: the indexed corpus, where every item is looked up (None: no lookup, and
    ``in_corpus`` stays None). It requires the ``verbatim`` detector: ``in_verbatim`` says
    whether a match lies inside one of that generation's verbatim findings given in ``prior``.
    Built with ``use_verbatim=False`` (a scan without an index) it requires nothing and
    ``in_verbatim`` is always False.
    """

    name = "pii"

    requires: tuple[str, ...] = ("verbatim",)

    def __init__(self, index: IndexLike | None = None, *, max_docs: int = 10,
                 names: Callable[[str], list[PIIMatch]] | None = None,
                 use_verbatim: bool = True) -> None:
        if max_docs < 0:
            raise ConfigError("max_docs must be >= 0")
        self.index = index
        self.max_docs = max_docs
        self.names = names
        self.requires = ("verbatim",) if use_verbatim else ()

    @classmethod
    def options_callable(cls) -> Callable[..., None]:
        """The function whose parameters are this detector's ``--set`` options (read by
        create() and listed by ``regurgitate plugins --options pii``)."""
        return _pii_options

    @classmethod
    def create(cls, ctx: DetectorContext, options: Mapping[str, Any]) -> PIIDetector:
        opts = convert_options(cls.options_callable(), options, owner="detector 'pii'")
        model = opts.get("names_model")
        return cls(ctx.index, max_docs=ctx.max_docs,
                   names=PresidioNames(str(model)) if model else None,
                   use_verbatim=ctx.index is not None)

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        found: list[tuple[int, PIIMatch, bool]] = []
        for it in items:
            if not it.generation.ok or not it.generation.text:
                continue
            text = it.generation.text
            matches = find_pii(text)
            if self.names is not None:
                matches = sorted(matches + self.names(text), key=lambda m: (m.start, m.end))
            ranges = sorted((f.start, f.end) for r in self.requires
                            for f in prior.findings(r, it.generation_id)
                            if f.start is not None and f.end is not None)
            starts = [s for s, _ in ranges]
            reach = list(itertools.accumulate((e for _, e in ranges), max))
            for m in matches:
                # inside one range: the furthest end among ranges starting at or before it
                i = bisect.bisect_right(starts, m.start)
                inside = i > 0 and reach[i - 1] >= m.end
                found.append((it.generation_id, m, inside))
        lookups = self._lookup([m.value for _, m, _ in found])
        out: list[Finding] = []
        for (gid, m, inside), hit in zip(found, lookups, strict=True):
            count, docs = hit if hit is not None else (None, ())
            out.append(Finding(
                generation_id=gid, detector=self.name, start=m.start, end=m.end, score=None,
                payload=PIIHit(
                    type=m.type, value=m.value, in_verbatim=inside,
                    in_corpus=None if count is None else count > 0, corpus_count=count,
                    documents=docs,
                    sources=tuple(self.index.doc_name(d) for d in docs) if self.index else (),
                    luhn_valid=m.valid)))
        return out

    def _lookup(self, values: Sequence[str]) -> list[tuple[int, tuple[int, ...]] | None]:
        """(corpus count, document ids) of each value (None: no index)."""
        if self.index is None:
            return [None] * len(values)
        tok = self.index.tokenizer
        variants = [[int(t) for t in tok.encode(v)] for val in values
                    for v in (val, " " + val)]
        limit = max(self.max_docs, 1) * 50
        occs = self.index.occurrences_batch(variants, limit=limit) if variants else []
        counts = [self.index.count(v) if v else 0 for v in variants]
        out: list[tuple[int, tuple[int, ...]] | None] = []
        for k in range(len(values)):
            best = max((2 * k, 2 * k + 1), key=lambda j: counts[j])
            docs = tuple(dict.fromkeys(int(o.doc_id) for o in occs[best]))[:self.max_docs]
            out.append((int(counts[best]), docs))
        return out


def _pii_options(*, names_model: str | None = None) -> None:
    """The options of the ``pii`` detector: ``names_model``, a spaCy model name or path for
    person names (extra ``pii``)."""
