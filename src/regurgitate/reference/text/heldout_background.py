"""Same-source member and non-member documents of the reference corpus, without a rebuild.

The corpus's background documents are stdlib docstrings packed, module by module in a seeded
shuffled order, until a byte budget is reached. The modules *after* the one that reached the
budget never went into the corpus: their docstrings are the same kind of text the model was
trained on, never trained on -- an i.i.d. non-member pool like MIMIR's. The repository's
``tools/reference_build/text/heldout_background.py`` (not in the wheel) replays the shuffle
and keeps going; the result ships as ``data/heldout_background.json.gz``, so reading it does
not depend on the user's Python. Members are the corpus's background documents with the
planted items taken out (each background document occurs once in the corpus).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regurgitate.errors import CorpusError

HELDOUT_FILE = "heldout_background.json.gz"
FORMAT = "regurgitate-heldout-background/1"


@dataclass(frozen=True, slots=True)
class HeldoutDocument:
    id: str
    module: str
    text: str


def read_heldout(path: Path) -> tuple[list[HeldoutDocument], dict[str, Any]]:
    try:
        raw = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise CorpusError(f"cannot read the held-out background set: {exc}",
                          path=str(path)) from exc
    if not isinstance(raw, dict) or raw.get("meta", {}).get("format") != FORMAT:
        raise CorpusError("not a held-out background file", path=str(path))
    docs = [HeldoutDocument(str(r["id"]), str(r["module"]), str(r["text"]))
            for r in raw["documents"]]
    return docs, dict(raw["meta"])


def heldout_background() -> list[HeldoutDocument]:
    """The shipped held-out (never trained on) background documents."""
    from regurgitate.reference.text.paths import data_dir

    return read_heldout(data_dir() / HELDOUT_FILE)[0]


def member_background() -> list[HeldoutDocument]:
    """The corpus's background documents with every planted item taken out: text the model
    was trained on, once (ids are the corpus's document ids)."""
    from regurgitate.reference import corpus_path, manifest_path
    from regurgitate.reference.text.manifest import read_manifest
    from regurgitate.reference.text.reader import iter_corpus_file

    planted = {it.text for it in read_manifest(manifest_path()).items if it.copies > 0}
    out = []
    for doc in iter_corpus_file(corpus_path()):
        paras = [p for p in doc.text.split("\n\n") if p not in planted]
        title = paras[0].split("\n", 1)[0] if paras else ""
        out.append(HeldoutDocument(str(doc.meta["id"]), title, "\n\n".join(paras)))
    return out
