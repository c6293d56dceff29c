"""Image targets: the bundled diffusion model through diffusers, and recorded image folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regurgitate.errors import ConfigError
from regurgitate.images.imageio import decode
from regurgitate.reference.image.paths import model_dir
from regurgitate.targets.diffusers_target import DiffusersTarget
from regurgitate.targets.image_folder import ImageFolderTarget
from regurgitate.types import GenerationSettings, Prompt


def _prompt(pid: str, text: str, seed: int, steps: int = 10) -> Prompt:
    return Prompt(id=pid, attack="t", text=text, settings=GenerationSettings(seed=seed),
                  meta={"steps": steps})


@pytest.fixture(scope="module")
def reference_target() -> DiffusersTarget:
    return DiffusersTarget(str(model_dir()), batch_size=3)


def test_a_seed_gives_the_same_image_in_any_batch(reference_target: DiffusersTarget) -> None:
    caption = reference_target.captions[0]
    other = reference_target.captions[1]
    alone = reference_target.generate([_prompt("a", caption, 11)])
    mixed = reference_target.generate([_prompt("x", other, 5), _prompt("y", caption, 3),
                                       _prompt("z", other, 8), _prompt("a", caption, 11)])
    assert [g.prompt_id for g in mixed] == ["x", "y", "z", "a"]
    a, b = decode(alone[0].image or b""), decode(mixed[3].image or b"")
    assert a.shape == (16, 16, 3)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # float noise across batch shapes
    assert not np.array_equal(decode(mixed[1].image or b""), a)  # another seed, another image


def test_unknown_caption_is_a_config_error(reference_target: DiffusersTarget) -> None:
    with pytest.raises(ConfigError, match="no class"):
        reference_target.generate([_prompt("q", "a photo of the moon", 1)])


def test_unconditional_pipeline_folder(tmp_path: Path) -> None:
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    unet = UNet2DModel(sample_size=8, in_channels=3, out_channels=3, layers_per_block=1,
                       block_out_channels=(8, 16), norm_num_groups=4,
                       down_block_types=("DownBlock2D", "DownBlock2D"),
                       up_block_types=("UpBlock2D", "UpBlock2D"))
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=50)).save_pretrained(
        tmp_path / "pipe")
    target = DiffusersTarget(str(tmp_path / "pipe"), batch_size=2, steps=3)
    assert target.mode == "unconditional"
    gens = target.generate([_prompt("p1", "anything", 1, 3), _prompt("p2", "anything", 2, 3),
                            _prompt("p3", "else", 1, 3)])
    imgs = [decode(g.image or b"") for g in gens]
    assert imgs[0].shape == (8, 8, 3)
    # same seed, same image (to float noise across batch shapes), prompt ignored
    assert np.abs(imgs[0].astype(int) - imgs[2].astype(int)).max() <= 1
    assert not np.array_equal(imgs[0], imgs[1])


def test_recorded_folder_answers_by_prompt_and_seed(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(
            tmp_path / f"g{i}.png")
        rows.append(json.dumps({"file": f"g{i}.png", "prompt": "a <b>cat</b>", "seed": i}))
    (tmp_path / "generations.jsonl").write_text("\n".join(rows) + "\n")
    target = ImageFolderTarget(str(tmp_path))
    gens = target.generate([_prompt("a", "a <b>cat</b>", 2), _prompt("b", "a <b>cat</b>", 9)])
    assert gens[0].ok and np.array_equal(decode(gens[0].image or b""),
                                         np.asarray(Image.open(tmp_path / "g2.png")))
    assert not gens[1].ok and "no recorded image" in (gens[1].error or "")


def test_recorded_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="generations.jsonl"):
        ImageFolderTarget(str(tmp_path))
    (tmp_path / "generations.jsonl").write_text('{"prompt": "no file"}\n')
    with pytest.raises(ConfigError, match=":1: bad record"):
        ImageFolderTarget(str(tmp_path))
