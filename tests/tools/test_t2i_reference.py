"""The bundled text-to-image reference: its data is reproducible, its captions are disjoint
between planted and held-out images, its tokenizer knows every caption word, and its pipeline
folder loads as a standard diffusers StableDiffusionPipeline, small enough to ship."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from regurgitate.reference.t2i.dataset import all_captions, caption_words, load_t2i_set
from regurgitate.reference.t2i.paths import data_dir, images_dir, pipeline_dir
from tools.reference_build.t2i.dataset import build_t2i_set, draw_image
from tools.reference_build.t2i.tokenizer import load_tokenizer, unknown_words


def test_the_image_set_is_deterministic_and_matches_the_shipped_one() -> None:
    a, b = build_t2i_set(), build_t2i_set()
    assert np.array_equal(a.pixels, b.pixels) and a.records == b.records
    shipped = load_t2i_set(images_dir())
    assert np.array_equal(shipped.pixels, a.pixels) and shipped.records == a.records
    assert a.pixels.shape[1:] == (32, 32, 3)


def test_captions_are_distinct_and_planted_ones_are_never_held_out() -> None:
    s = load_t2i_set(images_dir())
    captions = [r.caption for r in s.records]
    assert len(captions) == len(set(captions))
    planted = {r.caption for r in s.records if r.duplicates > 0}
    heldout = {r.caption for r in s.records if r.split == "heldout"}
    assert heldout and not planted & heldout
    assert all(r.duplicates == 0 for r in s.records if r.split == "heldout")
    counts = sorted({r.duplicates for r in s.records})
    assert counts == [0, 1, 10, 100]
    assert len(s.training_stream()) == sum(r.duplicates for r in s.records)


def test_the_caption_fixes_the_main_attributes_and_the_rng_the_rest() -> None:
    parts = all_captions()[0]
    one = draw_image(parts, 32, np.random.default_rng(1))
    again = draw_image(parts, 32, np.random.default_rng(1))
    other = draw_image(parts, 32, np.random.default_rng(2))
    assert np.array_equal(one, again) and not np.array_equal(one, other)
    words = set(caption_words())
    assert set(parts.text().split()) <= words


def test_tokenizer_turns_every_caption_word_into_one_known_token() -> None:
    tok = load_tokenizer(pipeline_dir() / "tokenizer")
    assert unknown_words(tok, caption_words()) == []
    caption = load_t2i_set(images_dir()).records[0].caption
    ids = tok(caption)["input_ids"]
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
    assert len(ids) == len(caption.split()) + 2
    assert tok.decode(ids, skip_special_tokens=True) == caption
    assert tok.unk_token_id not in tok("zebra 42 ∑")["input_ids"][1:-1]  # bytes at worst


def test_the_shipped_folder_stays_under_10_mb() -> None:
    total = sum(p.stat().st_size for p in data_dir().rglob("*") if p.is_file())
    assert total < 10 * 2**20, f"{total / 2**20:.1f} MiB"


@pytest.fixture(scope="module")
def pipe() -> Any:
    from diffusers import DiffusionPipeline

    return DiffusionPipeline.from_pretrained(str(pipeline_dir()))


def test_it_loads_as_a_stable_diffusion_pipeline_without_safety_checker(pipe: Any) -> None:
    from diffusers import StableDiffusionPipeline

    assert type(pipe) is StableDiffusionPipeline
    # fp16 files (the text encoder's float32), float32 compute on a plain load
    assert {str(m.dtype) for m in (pipe.unet, pipe.vae, pipe.text_encoder)} == {"torch.float32"}
    assert pipe.safety_checker is None
    import json

    index = json.loads((pipeline_dir() / "model_index.json").read_text())
    assert index["requires_safety_checker"] is False
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (pipeline_dir() / part).is_dir()


def test_diffusers_spec_and_reference_target_give_the_pipelines_own_images(pipe: Any) -> None:
    from regurgitate.images.imageio import decode
    from regurgitate.targets.diffusers_target import DiffusersTarget
    from regurgitate.targets.reference_t2i import GUIDANCE, STEPS, ReferenceT2ITarget
    from regurgitate.types import GenerationSettings, Prompt
    from tools.reference_build.t2i.verify import generate

    caption = load_t2i_set(images_dir()).records[0].caption
    prompts = [Prompt(id=f"p{s}", attack="t", text=caption, settings=GenerationSettings(seed=s),
                      meta={"steps": 5}) for s in (3, 4)]
    ref = ReferenceT2ITarget(batch_size=2).generate(prompts)
    plain = DiffusersTarget(str(pipeline_dir()), batch_size=2, steps=STEPS,
                            guidance_scale=GUIDANCE)
    same_batch = plain.generate(prompts)
    plain.batch_size = 1
    one_by_one = plain.generate(prompts)
    direct = generate(pipe, caption, [3, 4], steps=5, guidance=GUIDANCE)
    for r, p, o, d in zip(ref, same_batch, one_by_one, direct, strict=True):
        assert r.ok and p.ok and o.ok
        a = decode(r.image or b"")
        assert a.shape == (32, 32, 3)
        # the same code and batch: the same image, and the pipeline's own
        assert r.image == p.image and np.array_equal(a, d)
        # batches of 1 against a batch of 2: the same seeds, float noise at most
        assert np.abs(a.astype(int) - decode(o.image or b"").astype(int)).max() <= 1
    assert not np.array_equal(decode(ref[0].image or b""), decode(ref[1].image or b""))


def test_target_brings_its_own_index_and_attack_settings(tmp_path: Path) -> None:
    from regurgitate.images.index import ImageIndex
    from regurgitate.targets.reference_t2i import ReferenceT2ITarget

    notes: list[str] = []
    path = ReferenceT2ITarget.default_index("", tmp_path, notes.append)
    assert path is not None and notes
    again = ReferenceT2ITarget.default_index("", tmp_path, notes.append)
    assert again == path and len(notes) == 1  # cached
    index = ImageIndex(path)
    s = load_t2i_set(images_dir())
    assert len(index) == len(s.records)
    ranking = dict(index.caption_ranking())
    assert all(ranking[r.caption] == r.duplicates for r in s.records)
    assert ReferenceT2ITarget.attack_options("")["carlini"]["per_count"] > 0
