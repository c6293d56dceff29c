"""The sidecar of a folder of already generated images (``images:DIR`` targets):
``DIR/generations.jsonl`` lists ``{"file": "0001.png", "prompt": "...", "seed": 3}`` per image.
Read by the target that replays the folder and by the attack that asks for every image."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from regurgitate.errors import ConfigError

SIDECAR = "generations.jsonl"


@dataclass(frozen=True)
class RecordedImage:
    file: str
    prompt: str
    seed: int | None


def read_recorded(folder: Path) -> list[RecordedImage]:
    """The sidecar's records, in file order (ConfigError with the line on bad input)."""
    path = folder / SIDECAR
    if not path.exists():
        raise ConfigError(f"{folder} has no {SIDECAR}",
                          hint='list each image as {"file": ..., "prompt": ..., "seed": ...}')
    out: list[RecordedImage] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            seed = rec.get("seed")
            out.append(RecordedImage(file=str(rec["file"]), prompt=str(rec.get("prompt", "")),
                                     seed=None if seed is None else int(seed)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}:{n}: bad record ({exc})",
                              hint='expected {"file": ..., "prompt": ..., "seed": ...}') from exc
    return out
