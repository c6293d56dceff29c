"""Personal data in generations: offline regex recognizers with checksums, optional presidio NER.

:func:`find_pii` recognizes e-mail addresses, URLs, IPv4/IPv6 addresses, payment card numbers
(13-19 digits starting with an issuer digit 2-6, Luhn-checked), IBANs (mod-97 checked), US
SSN-like numbers (area/group/serial rules), and phone numbers (international ``+CC ...`` or
US-style with separators; bare digit runs and years are not phones). When matches overlap,
the more specific type wins (email > url > iban > card > ssn > ip > phone).

:class:`PIIDetector` turns matches into ``pii`` findings; ``in_verbatim`` says whether the match
lies inside a verbatim span of the same generation (the ``verbatim`` findings it requires).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from regurgitate.detectors.base import Detector, DetectorContext, Item, Prior
from regurgitate.errors import ConfigError, MissingDependencyError
from regurgitate.findings import Finding, PIIHit
from regurgitate.options import parse_options


@dataclass(frozen=True)
class PIIMatch:
    type: str
    start: int
    end: int
    value: str


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
        if 13 <= len(digits) <= 19 and digits[0] in _CARD_FIRST_DIGITS and luhn_valid(digits):
            yield PIIMatch("card", m.start(), m.end(), m.group())
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
    for c in cands:
        if all(c.end <= k.start or c.start >= k.end for k in kept):
            kept.append(c)
    return sorted(kept, key=lambda m: (m.start, m.end))


class PresidioNames:
    """Person/location/organization names with presidio and a local spaCy model (extra ``pii``).

    ``model`` is a spaCy model name or path installed by the user; nothing is downloaded.
    """

    def __init__(self, model: str, entities: Sequence[str] = ("PERSON",),
                 language: str = "en") -> None:
        try:
            from presidio_analyzer import AnalyzerEngine
            from presidio_analyzer.nlp_engine import NlpEngineProvider
        except ImportError as exc:
            raise MissingDependencyError("presidio-analyzer", "pii",
                                         "person-name detection") from exc
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

    It requires the ``verbatim`` detector: ``in_verbatim`` says whether a match lies inside
    one of that generation's verbatim findings given in ``prior``. Built with
    ``use_verbatim=False`` (a scan without an index) it requires nothing and ``in_verbatim``
    is always False.
    """

    name = "pii"

    requires: tuple[str, ...] = ("verbatim",)

    def __init__(self, *, names: Callable[[str], list[PIIMatch]] | None = None,
                 use_verbatim: bool = True) -> None:
        self.names = names
        self.requires = ("verbatim",) if use_verbatim else ()

    @classmethod
    def create(cls, ctx: DetectorContext, options: Mapping[str, Any]) -> PIIDetector:
        opts = parse_options(_pii_options, options, owner="detector 'pii'")
        model = opts.get("names_model")
        return cls(names=PresidioNames(str(model)) if model else None,
                   use_verbatim=ctx.index is not None)

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        out: list[Finding] = []
        for it in items:
            if not it.generation.ok or not it.generation.text:
                continue
            text = it.generation.text
            matches = find_pii(text)
            if self.names is not None:
                matches = sorted(matches + self.names(text), key=lambda m: (m.start, m.end))
            ranges = [(f.start, f.end) for r in self.requires
                      for f in prior.findings(r, it.generation_id)
                      if f.start is not None and f.end is not None]
            for m in matches:
                inside = any(s <= m.start and m.end <= e for s, e in ranges)
                out.append(Finding(generation_id=it.generation_id, detector=self.name,
                                   start=m.start, end=m.end, score=None,
                                   payload=PIIHit(type=m.type, value=m.value,
                                                  in_verbatim=inside)))
        return out


def _pii_options(*, names_model: str | None = None) -> None:
    """The options of the ``pii`` detector: ``names_model``, a spaCy model name or path for
    person names (extra ``pii``)."""
