"""Replay the prompts of a folder of already generated images (the ``images:DIR`` target).

A production generator's outputs cannot be regenerated; auditing them means asking the folder
for every image it recorded, once, with its own prompt and seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar

from regurgitate.attacks.base import Attack, AttackContext
from regurgitate.errors import ConfigError
from regurgitate.types import GenerationSettings, Modality, Prompt


@dataclass(frozen=True)
class RecordedImagesAttack(Attack):
    """One prompt per image listed in ``FOLDER/generations.jsonl``."""

    #: the attack name stored with its prompts
    name: str = "recorded-images"
    modality: ClassVar[Modality] = "image"

    #: folder holding generations.jsonl and the recorded images
    folder: str = ""

    def prompts(self, ctx: AttackContext) -> list[Prompt]:
        from pathlib import Path

        from regurgitate.images.recorded import read_recorded

        if not self.folder:
            raise ConfigError("the recorded-images attack needs the folder of an images: target")
        out: list[Prompt] = []
        for n, rec in enumerate(read_recorded(Path(self.folder))):
            key = hashlib.sha256(rec.file.encode("utf-8")).hexdigest()[:12]
            settings = GenerationSettings(max_new_tokens=0, seed=rec.seed, logprobs=False)
            out.append(Prompt(id=f"{self.name}:{n}:{key}", attack=self.name, text=rec.prompt,
                              settings=settings, meta={"file": rec.file}))
        return out
