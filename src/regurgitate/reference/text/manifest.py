"""The manifest of the reference corpus: every planted item and where its copies went."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from regurgitate.errors import ConfigError

KINDS = ("passage", "pii", "heldout")


@dataclass(frozen=True, slots=True)
class PiiFields:
    """The fictional personal data carried by a PII record."""

    name: str
    email: str
    phone: str
    address: str


@dataclass(frozen=True, slots=True)
class PlantedItem:
    """One planted (or held-out) text.

    ``copies`` is how many times ``text`` occurs in the corpus (0 for held-out items);
    ``doc_ids`` are the ids of the corpus documents holding the copies, one per copy.
    """

    id: str
    kind: str
    text: str
    copies: int
    doc_ids: tuple[str, ...] = ()
    pii: PiiFields | None = None


@dataclass(frozen=True, slots=True)
class ReferenceManifest:
    """Everything planted in the reference corpus, plus how the corpus was built."""

    items: tuple[PlantedItem, ...]
    build: dict[str, Any] = field(default_factory=dict)

    def by_kind(self, kind: str) -> list[PlantedItem]:
        return [it for it in self.items if it.kind == kind]

    def by_id(self, item_id: str) -> PlantedItem:
        for it in self.items:
            if it.id == item_id:
                return it
        raise ConfigError(f"no planted item with id '{item_id}' in the reference manifest")


def manifest_to_json(manifest: ReferenceManifest) -> str:
    data = {"build": manifest.build,
            "items": [asdict(it) for it in manifest.items]}
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def _item_from_dict(raw: dict[str, Any]) -> PlantedItem:
    kind = raw["kind"]
    if kind not in KINDS:
        raise ConfigError(f"manifest item {raw.get('id')!r} has unknown kind {kind!r}")
    pii = PiiFields(**raw["pii"]) if raw.get("pii") else None
    return PlantedItem(id=raw["id"], kind=kind, text=raw["text"], copies=int(raw["copies"]),
                       doc_ids=tuple(raw.get("doc_ids", ())), pii=pii)


def read_manifest(path: Path) -> ReferenceManifest:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = tuple(_item_from_dict(r) for r in data["items"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read the reference manifest {path}: {exc}",
                          hint="rebuild it with: python -m tools.reference_build.text.build "
                          "--corpus-only") from exc
    return ReferenceManifest(items=items, build=dict(data.get("build", {})))
