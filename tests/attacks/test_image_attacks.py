"""The Carlini attack: seeds per caption, most duplicated captions first, stable ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from regurgitate.attacks.base import AttackContext
from regurgitate.attacks.carlini import CarliniAttack
from regurgitate.errors import ConfigError
from regurgitate.images.index import ImageIndex, IndexSettings, build_image_index
from regurgitate.images.records import SourceImage
from tests.images.conftest import random_images


@pytest.fixture()
def index(tmp_path: Path) -> ImageIndex:
    pics = random_images(6, size=16)
    counts = [1, 50, 1, 1, 5, 1]
    caps = ["rare", "popular", "rare", "other", "middle", "other"]
    build_image_index((SourceImage(id=str(i), caption=c, pixels=p, count=n)
                       for i, (p, c, n) in enumerate(zip(pics, caps, counts, strict=True))),
                      tmp_path / "idx", IndexSettings(size=16))
    return ImageIndex(tmp_path / "idx")


def test_most_duplicated_captions_first_with_distinct_seeds(index: ImageIndex) -> None:
    ctx = AttackContext(index=None, image_index=index)
    prompts = CarliniAttack(per_caption=3, captions=2, steps=7).prompts(ctx)
    assert [p.text for p in prompts] == ["popular"] * 3 + ["middle"] * 3
    assert len({p.settings.seed for p in prompts}) == 6
    assert all(p.meta["steps"] == 7 for p in prompts)
    assert prompts[0].meta["caption_count"] == 50
    again = CarliniAttack(per_caption=3, captions=2, steps=7).prompts(ctx)
    assert [(p.id, p.settings.seed) for p in again] == [(p.id, p.settings.seed) for p in prompts]
    other_seed = CarliniAttack(per_caption=3, captions=2, seed=1).prompts(ctx)
    assert [p.id for p in other_seed] == [p.id for p in prompts]
    assert [p.settings.seed for p in other_seed] != [p.settings.seed for p in prompts]
    assert len(CarliniAttack(per_caption=2).prompts(ctx)) == 2 * 4  # all captions


def test_attack_needs_an_image_index() -> None:
    with pytest.raises(ConfigError, match="training-image index"):
        CarliniAttack().prompts(AttackContext(index=None))


def test_per_count_keeps_a_few_captions_of_every_duplicate_count(index: ImageIndex) -> None:
    ctx = AttackContext(index=None, image_index=index)
    prompts = CarliniAttack(per_caption=1, per_count=1).prompts(ctx)
    # counts: popular 50, middle 5, other 2, rare 2; one caption per count, in caption order
    assert [p.text for p in prompts] == ["popular", "middle", "other"]
    assert [p.text for p in CarliniAttack(per_caption=1, per_count=1, captions=2)
            .prompts(ctx)] == ["popular", "middle"]


@pytest.mark.parametrize("name", ["carlini", "img2img"])
def test_image_attacks_without_an_index_say_how_to_build_one(name: str) -> None:
    from regurgitate import registry

    attack = registry.attacks().load(name)()
    with pytest.raises(ConfigError, match=f"the {name} attack needs a training-image index") \
            as info:
        attack.prompts(AttackContext(index=None))
    assert "regurgitate index build-images" in (info.value.hint or "")
