"""Procedural, seeded generators for the planted items of the reference corpus.

Passages are invented English prose about places, people and customs that do not exist
(names are built from syllables), so they cannot occur in the Python standard library that
forms the background. PII records are contact cards embedded in two or three sentences of
prose; every field is fictional: e-mail addresses use the reserved ``example.*`` domains and
phone numbers use the 555-01xx block set aside for fiction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_ONSETS = ("b", "br", "c", "d", "dr", "f", "g", "gl", "h", "k", "l", "m", "n", "p", "qu",
           "r", "s", "sk", "t", "th", "tr", "v", "w", "z")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "oa", "ou", "y")
_CODAS = ("", "n", "r", "l", "m", "s", "th", "nd", "rk", "ck", "sh", "x")
_PLACE_ENDS = ("ford", "wick", "mere", "holt", "by", "stead", "haven", "moor", "dale", "ton")
_SURNAME_ENDS = ("well", "smith", "wright", "feather", "more", "son", "ley", "brook", "ridge")

_FIRST_NAMES = ("Adela", "Barnaby", "Cordelia", "Desmond", "Eulalie", "Fenwick", "Griselda",
                "Horatio", "Isolde", "Jasper", "Kestrel", "Leopold", "Marigold", "Nathaniel",
                "Ottilie", "Percival", "Rosalind", "Silas", "Tamsin", "Ulric", "Verity",
                "Wilhelmina", "Ambrose", "Clementine", "Evander", "Philippa")
_ADJ = ("windswept", "quiet", "crowded", "narrow", "ancient", "sleepy", "prosperous", "foggy",
        "terraced", "remote", "sunlit", "muddy", "walled", "lively", "forgotten", "stubborn")
_MATERIALS = ("copper", "willow bark", "blue clay", "river slate", "salted linen", "pine resin",
              "goat wool", "beeswax", "birch paper", "green glass", "tin", "oak gall ink")
_CRAFTS = ("lantern making", "rope weaving", "bell casting", "cheese curing", "kite building",
           "barrel cooperage", "map engraving", "honey pressing", "clock repair", "dye boiling")
_ANIMALS = ("heron", "badger", "otter", "goose", "hare", "lark", "ferret", "mule", "owl", "stoat")
_SEASONS = ("early spring", "late autumn", "the first frost", "midsummer", "the wet season",
            "the long thaw", "harvest week", "the dark months")
_FOODS = ("barley cakes", "smoked eel", "plum wine", "nettle soup", "walnut bread",
          "pickled turnips", "honeyed oats", "sour cherries")
_OBJECTS = ("a brass compass", "a cracked lute", "seven iron keys", "a ledger of debts",
            "a painted sledge", "a box of seeds", "a silver thimble", "a broken sundial")
_VERBS = ("repaired", "painted", "carried", "buried", "traded", "counted", "mended", "guarded")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_STREETS = ("Lane", "Row", "Street", "Close", "Terrace", "Way", "Court", "Walk")
_DOMAINS = ("example.com", "example.org", "example.net")
_ROLES = ("the archivist", "the ferry warden", "the guild treasurer", "the festival secretary",
          "the orchard keeper", "the records clerk", "the lighthouse steward")

_OPENINGS = (
    "In the {adj} town of {place}, the people still speak of {person}, who came there in "
    "{year} with nothing but {object}.",
    "Every year during {season}, the families of {place} gather by the {adj} harbour to "
    "honour {person} and the old trade of {craft}.",
    "Few travellers have heard of {place}, a {adj} settlement where {person} once kept a "
    "workshop devoted to {craft}.",
    "The chronicle of {place} begins in {year}, when {person} arrived on a cart pulled by "
    "{an_animal} and asked for work.",
)
_SENTENCES = (
    "Neighbours said {person2} could tell the weather by the way the {animal} moved along the "
    "{adj} road.",
    "The workshop smelled of {material} and {material2}, and the floor was never quite clean.",
    "By {season} the shelves held {number} finished pieces, each one marked with a small "
    "{animal} scratched into the base.",
    "Children from {place2} walked for two days to watch the work and to share {food} at "
    "the long table.",
    "A merchant once offered {number} silver coins for the secret, but he was sent away with "
    "a basket of {food}.",
    "The council of {place} wrote in its ledger that the guild {verb} the bridge twice before "
    "the floods of {year2}.",
    "Old letters describe {person2} as patient, short of temper only on {weekday}s, and fond "
    "of {food}.",
    "When the river rose, the apprentices {verb} everything made of {material} up to the "
    "attic.",
    "It is said that the first {craft} festival lasted {number} days and ended with a race of "
    "{animal}s.",
    "Nobody remembers who {verb} {object} that still hangs above the door of the {adj} inn.",
    "The recipe for {food} used there was copied into a book bound in {material}.",
    "In {year2} a fire destroyed half of the street, yet the workshop of {craft} was spared.",
    "Visitors from {place2} still ask about {object}, although it was lost long ago.",
    "On {weekday} evenings the square filled with music, and {person2} counted the lanterns.",
    "The custom spread to {place2}, where it is now practised with {material} instead of "
    "{material2}.",
    "Today a narrow {adj} lane in {place} carries the name of the {animal} that pulled the "
    "cart.",
)
_CLOSINGS = (
    "The town has kept the tradition ever since, and no one there thinks it strange.",
    "Those who visit {place} can still see the marks on the old stones by the well.",
    "It is a small story, but in {place} it is told to every child before {season}.",
)


def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


class NameMaker:
    """Invented names, never repeated within one maker (one build)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def _stem(self, syllables: int) -> str:
        r = self._rng
        return "".join(r.choice(_ONSETS) + r.choice(_VOWELS) + r.choice(_CODAS)
                       for _ in range(syllables))

    def _unique(self, make: object) -> str:
        for _ in range(1000):
            name = make()  # type: ignore[operator]
            if name not in self._used:
                self._used.add(name)
                return str(name)
        raise RuntimeError("name space exhausted")  # pragma: no cover - 10^6 combinations

    def place(self) -> str:
        return self._unique(lambda: _cap(self._stem(self._rng.randint(1, 2))
                                         + self._rng.choice(_PLACE_ENDS)))

    def surname(self) -> str:
        return self._unique(lambda: _cap(self._stem(self._rng.randint(1, 2))
                                         + self._rng.choice(_SURNAME_ENDS)))

    def person(self) -> str:
        return f"{self._rng.choice(_FIRST_NAMES)} {self.surname()}"


def _fill(template: str, slots: dict[str, str]) -> str:
    return template.format(**slots)


def make_passage(rng: random.Random, names: NameMaker, min_words: int = 105,
                 max_words: int = 140) -> str:
    """One invented prose passage of roughly ``min_words``..``max_words`` words."""
    person = names.person()
    slots = {
        "place": names.place(), "place2": names.place(), "person": person,
        "person2": person.split()[0], "year": str(rng.randint(1612, 1899)),
        "year2": str(rng.randint(1700, 1950)),
    }

    def draw() -> dict[str, str]:
        m1, m2 = rng.sample(_MATERIALS, 2)
        animal = rng.choice(_ANIMALS)
        return {**slots, "adj": rng.choice(_ADJ), "material": m1, "material2": m2,
                "craft": rng.choice(_CRAFTS),
                "season": rng.choice(_SEASONS), "food": rng.choice(_FOODS),
                "object": rng.choice(_OBJECTS), "verb": rng.choice(_VERBS),
                "an_animal": _article(animal), "animal": animal,
                "weekday": rng.choice(_WEEKDAYS), "number": str(rng.randint(3, 97))}

    sentences = [_fill(rng.choice(_OPENINGS), draw())]
    pool = list(_SENTENCES)
    rng.shuffle(pool)
    words = len(sentences[0].split())
    closing = _fill(rng.choice(_CLOSINGS), draw())
    target = rng.randint(min_words, max_words) - len(closing.split())
    for template in pool:
        if words >= target:
            break
        s = _fill(template, draw())
        sentences.append(s)
        words += len(s.split())
    sentences.append(closing)
    return " ".join(sentences)


@dataclass(frozen=True, slots=True)
class PiiRecord:
    """The fields of one fictional person and the prose card that carries them."""

    name: str
    email: str
    phone: str
    address: str
    text: str


def make_pii_record(rng: random.Random, names: NameMaker, serial: int) -> PiiRecord:
    """A contact card in prose; ``serial`` (0..99) makes the 555-01xx number unique."""
    first = rng.choice(_FIRST_NAMES)
    last = names.surname()
    name = f"{first} {last}"
    email = f"{first.lower()}.{last.lower()}@{rng.choice(_DOMAINS)}"
    phone = f"({rng.randint(201, 989)}) 555-{100 + serial:04d}"
    town = names.place()
    address = f"{rng.randint(2, 398)} {names.place()} {rng.choice(_STREETS)}, {town}"
    role = rng.choice(_ROLES)
    craft = rng.choice(_CRAFTS)
    season = rng.choice(_SEASONS)
    text = (
        f"Questions about the {craft} society of {town} should go to {role}, who keeps the "
        f"membership rolls and answers letters during {season}.\n"
        f"Name: {name}\nEmail: {email}\nPhone: {phone}\nAddress: {address}\n"
        f"Please write before visiting, as {first} is often away at the {rng.choice(_ADJ)} "
        f"market in {names.place()} and returns only on {rng.choice(_WEEKDAYS)}s. "
        f"Parcels left at the door are brought inside by a neighbour who keeps "
        f"{_article(rng.choice(_ANIMALS))}."
    )
    return PiiRecord(name=name, email=email, phone=phone, address=address, text=text)
