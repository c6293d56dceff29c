"""Diffusion membership signals, the img2img attack and its reconstruction detector, on a tiny
randomly initialised Stable-Diffusion-style pipeline and a six-image training index."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from regurgitate.attacks.base import AttackContext
from regurgitate.attacks.img2img import Img2ImgAttack
from regurgitate.cli.main import main
from regurgitate.detectors.base import NO_PRIOR, DetectorContext
from regurgitate.detectors.diffusion_membership import DiffusionMembershipDetector, source_seed
from regurgitate.detectors.img2img import Img2ImgReconstructionDetector
from regurgitate.errors import ConfigError
from regurgitate.findings.images import DiffusionMembership, Img2ImgReconstruction
from regurgitate.images.imageio import encode_png, from_base64_png, to_base64_png
from regurgitate.images.index import ImageIndex, IndexSettings, build_image_index
from regurgitate.images.records import SourceImage
from regurgitate.reports.image_data import summarize_images
from regurgitate.store import RunStore
from regurgitate.targets.diffusers_target import DiffusersTarget
from regurgitate.types import Generation, GenerationSettings, Item, Prompt
from tests.images.conftest import random_images, save_tiny_sd

HOSTILE = '<script>alert(1)</script> & "q" \x1b[31m red'
COUNTS = (100, 100, 1, 1, 0, 0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("tiny-sd")
    pipe_dir = save_tiny_sd(out)
    pix = random_images(len(COUNTS), size=32, seed=3)
    records = [SourceImage(id=f"img{i}", caption=HOSTILE if i == 0 else f"a picture {i}",
                           pixels=p, count=max(c, 0),
                           meta={"split": "heldout" if c == 0 else "train", "duplicates": c})
               for i, (p, c) in enumerate(zip(pix, COUNTS, strict=True))]
    build_image_index(records, out / "index", IndexSettings(size=32, thumb=32))
    target = DiffusersTarget(str(pipe_dir), batch_size=4, steps=10, threads=1)
    return {"dir": pipe_dir, "index": ImageIndex(out / "index"), "target": target,
            "pixels": pix, "out": out}


def _detector(tiny: dict[str, Any], **options: Any) -> DiffusionMembershipDetector:
    ctx = DetectorContext(target=tiny["target"], image_index=tiny["index"], modality="image")
    det = DiffusionMembershipDetector.create(ctx, {k: str(v) for k, v in options.items()})
    assert isinstance(det, DiffusionMembershipDetector)
    return det


def _parts(tiny: dict[str, Any]) -> Any:
    return tiny["target"].pipe


def _hand_latent(pipe: Any, pixels: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        return pipe.vae.encode(x).latent_dist.mean * pipe.vae.config.scaling_factor


def _hand_text(pipe: Any, caption: str) -> torch.Tensor:
    ids = pipe.tokenizer([caption], padding="max_length", truncation=True,
                         max_length=pipe.tokenizer.model_max_length, return_tensors="pt")
    with torch.no_grad():
        return pipe.text_encoder(ids.input_ids)[0]


def _unet(pipe: Any, x: torch.Tensor, t: int, c: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return pipe.unet(x, torch.tensor([t]), encoder_hidden_states=c).sample


def test_each_signal_equals_a_hand_computation(tiny: dict[str, Any]) -> None:
    pipe = _parts(tiny)
    det = _detector(tiny, timestep=100, loss_draws=2, wen_steps=2, wen_inference_steps=10,
                    wen_generations=2, wen_guidance=3.0, seed=5)
    pix = tiny["pixels"][:2]
    caps = ["a picture one", "a picture two"]
    got = det.signal_values(caps, list(pix), ["s1", "s2"])["signals"]
    abar = pipe.scheduler.alphas_cumprod[100].item()
    uncond = _hand_text(pipe, "")
    for i in range(2):
        x0, c = _hand_latent(pipe, pix[i]), _hand_text(pipe, caps[i])
        base = source_seed(f"s{i + 1}", 5)
        losses = []
        for d in range(2):
            gen = torch.Generator().manual_seed(base + 7919 * d)
            eps = torch.randn((1, 4, 8, 8), generator=gen)
            xt = abar ** 0.5 * x0 + (1 - abar) ** 0.5 * eps
            losses.append(((eps - _unet(pipe, xt, 100, c)) ** 2).mean().item())
        assert got["loss"][i] == pytest.approx(np.mean(losses), rel=1e-4)
        eps0 = _unet(pipe, x0, 0, c)
        xt = abar ** 0.5 * x0 + (1 - abar) ** 0.5 * eps0
        assert got["pia"][i] == pytest.approx(
            ((eps0 - _unet(pipe, xt, 100, c)).abs() ** 4).sum().item(), rel=1e-4)
        norms = []
        for g in range(2):
            sched = type(pipe.scheduler).from_config(pipe.scheduler.config)
            sched.set_timesteps(10)
            gen = torch.Generator().manual_seed(base + 7919 * g)
            lat = torch.randn((1, 4, 8, 8), generator=gen)
            for t in sched.timesteps[:2]:
                e_u, e_c = _unet(pipe, lat, int(t), uncond), _unet(pipe, lat, int(t), c)
                norms.append((e_c - e_u).norm().item())
                lat = sched.step(e_u + 3.0 * (e_c - e_u), t, lat).prev_sample
        assert got["wen"][i] == pytest.approx(np.mean(norms), rel=1e-4)


def test_attack_prompts_are_deterministic_and_self_contained(tiny: dict[str, Any]) -> None:
    ctx = AttackContext(index=None, seed=0, image_index=tiny["index"])
    attack = Img2ImgAttack(per_group=1, strengths=(0.3, 0.6))
    first, again = attack.prompts(ctx), attack.prompts(ctx)
    assert [p.id for p in first] == [p.id for p in again]
    assert [p.settings.seed for p in first] == [p.settings.seed for p in again]
    assert len({p.id for p in first}) == len(first) == 3 * 2  # groups 100x, 1x, held out
    # strength-major (a target batches by strength): every image at 0.3, then at 0.6
    assert [p.meta["strength"] for p in first] == [0.3] * 3 + [0.6] * 3
    assert sorted(p.meta["duplicates"] for p in first[:3]) == [0, 1, 100]
    assert [p.meta["source_id"] for p in first[:3]] == [p.meta["source_id"] for p in first[3:]]
    assert [p.meta["mia_primary"] for p in first] == [True] * 3 + [False] * 3
    row = tiny["index"].ids.index(first[0].meta["source_id"])
    assert np.array_equal(from_base64_png(first[0].meta["init_image"]),
                          tiny["index"].pixels[row])
    assert len(Img2ImgAttack().prompts(ctx)) == len(COUNTS) * 3
    with pytest.raises(ConfigError, match="outside"):
        Img2ImgAttack(strengths=(0.0,)).prompts(ctx)


def test_img2img_is_the_pipelines_own_with_the_prompts_seed(tiny: dict[str, Any]) -> None:
    # the same image as diffusers' StableDiffusionImg2ImgPipeline called directly with the
    # prompt's seed, whatever the batch companions (the fixture's VAE is random, so "nearly
    # the input" at a low strength can only hold on a trained model)
    from diffusers import StableDiffusionImg2ImgPipeline
    from PIL import Image

    src = tiny["pixels"]
    prompts = [Prompt(id=f"p{i}", attack="img2img", text=f"a picture {i}",
                      settings=GenerationSettings(seed=10 + i),
                      meta={"steps": 10, "strength": s, "init_image": to_base64_png(src[i])})
               for i, s in enumerate((0.3, 0.3, 0.6))]
    together = tiny["target"].generate(prompts)
    alone = tiny["target"].generate(prompts[1:2])[0]
    direct = StableDiffusionImg2ImgPipeline(**tiny["target"].pipe.components)(
        prompt=["a picture 1"], image=[Image.fromarray(src[1])], strength=0.3,
        num_inference_steps=10, generator=[torch.Generator().manual_seed(11)],
        output_type="np").images[0]
    want = np.clip(np.round(direct * 255), 0, 255).astype(np.uint8)
    got = [from_base64_png(to_b64(g.image)) for g in (together[1], alone)]
    assert all(g.ok for g in together)
    assert np.abs(got[0].astype(int) - want.astype(int)).max() <= 1
    assert np.abs(got[1].astype(int) - want.astype(int)).max() <= 1


def to_b64(png: bytes | None) -> str:
    import base64

    return base64.b64encode(png or b"").decode("ascii")


def test_reconstruction_detector_says_same_image_back(tiny: dict[str, Any]) -> None:
    det = Img2ImgReconstructionDetector.create(
        DetectorContext(modality="image", image_index=tiny["index"]), {})
    assert det is not None
    src = tiny["pixels"][1]
    prompt = Prompt(id="p", attack="img2img", text=HOSTILE, settings=GenerationSettings(seed=1),
                    meta={"strength": 0.1, "init_image": to_base64_png(src), "source_id": "img1",
                          "duplicates": 100, "split": "train"})
    nudged = np.clip(src.astype(int) + 3, 0, 255).astype(np.uint8)
    back = Item(1, prompt, Generation(prompt_id="p", text="", image=encode_png(nudged)))
    far = Item(2, prompt, Generation(prompt_id="p", text="", image=encode_png(tiny["pixels"][4])))
    p, q = (f.payload for f in det.detect([back, far], NO_PRIOR))
    assert isinstance(p, Img2ImgReconstruction) and isinstance(q, Img2ImgReconstruction)
    assert p.distance < 0.02 and p.same_image
    assert q.distance > 0.15 and not q.same_image
    assert (p.source_id, p.duplicates, p.strength) == ("img1", 100, 0.1)
    strict = Img2ImgReconstructionDetector.create(DetectorContext(modality="image"),
                                                  {"threshold": "0.001"})
    assert strict is not None
    r = strict.detect([back], NO_PRIOR)[0].payload
    assert isinstance(r, Img2ImgReconstruction) and not r.same_image


def test_create_skips_a_target_without_a_text_to_image_pipeline(tiny: dict[str, Any]) -> None:
    class NotDiffusers:
        pipe = None
        mode = "class"

    ctx = DetectorContext(target=NotDiffusers(), modality="image")
    assert DiffusionMembershipDetector.create(ctx, {}) is None
    # skipped in a default scan; asked for by name, the scan stops and says what it needs
    from regurgitate.scan.assembly import default_detectors

    assert "diffusion_membership" not in {d.name for d in default_detectors(ctx)}
    with pytest.raises(ConfigError) as err:
        default_detectors(ctx, names=["diffusion_membership"])
    assert "latent text-to-image" in str(err.value.hint)
    with pytest.raises(ConfigError, match="signal"):
        _detector(tiny, signals="nope")


def test_scan_resumes_and_reports_escaped(tiny: dict[str, Any], capsys: Any) -> None:
    db = tiny["out"] / "run.db"
    target = f"diffusers:{tiny['dir']}?threads=1&steps=4"
    args = ["scan", "--target", target, "--index", str(tiny["out"] / "index"), "--run", str(db),
            "--attack", "img2img", "--set", "img2img.strengths=0.5,0.9",
            "--set", "diffusion_membership.wen_inference_steps=10",
            "--html", str(tiny["out"] / "report.html")]
    for _ in range(2):  # the second run resumes a finished run: nothing new, same findings
        try:
            main(args)
        except SystemExit as exc:
            assert not exc.code
    with RunStore.open(db, create=False) as store:
        mem = [f.payload_as(DiffusionMembership)
               for f in store.findings(kind=DiffusionMembership.kind)]
        rec = list(store.findings(kind=Img2ImgReconstruction.kind))
        s = summarize_images(store)
    assert len(mem) == len(COUNTS) and len(rec) == 2 * len(COUNTS)
    assert all(isinstance(p, DiffusionMembership) for p in mem)
    labels = {p.source_id: p.member for p in mem if p is not None}
    assert labels == {f"img{i}": c > 0 for i, c in enumerate(COUNTS)}
    # a fresh detector on the stored prompts computes the same values (resume determinism)
    det = _detector(tiny, wen_inference_steps=10)
    p0 = next(p for p in mem if p is not None and p.source_id == "img2")
    again = det.signal_values([p0.caption], [tiny["pixels"][2]], ["img2"])["signals"]
    assert again["pia"][0] == pytest.approx(p0.pia, rel=1e-5)
    assert {r.signal for r in s.mia.signals} == {"loss", "pia", "wen"}
    assert all(r.members == 4 and r.nonmembers == 2 and r.auc is not None
               for r in s.mia.signals)
    assert {(r.strength, r.duplicates) for r in s.mia.img2img} == {
        (st, d) for st in (0.5, 0.9) for d in (100, 1, 0)}
    page = (tiny["out"] / "report.html").read_text()
    assert "Membership inference" in page and "Image-to-image reconstruction" in page
    assert "<script>alert" not in page and "\x1b" not in page
    assert html.escape("<script>alert(1)</script>") in page
    out = capsys.readouterr().out
    assert "Membership signals" in out and "Image-to-image reconstruction" in out
    assert "\x1b" not in out


def test_an_unreadable_init_image_fails_its_generation_not_the_scan(tiny: dict[str, Any]) -> None:
    bad = Prompt(id="bad", attack="img2img", text="a picture", settings=GenerationSettings(seed=1),
                 meta={"steps": 4, "strength": 0.5, "init_image": "bm90IGFuIGltYWdl",
                       "source_id": "img1", "duplicates": 1, "split": "train",
                       "mia_primary": True})
    gen = tiny["target"].generate([bad])[0]
    assert not gen.ok and "init image" in (gen.error or "")
    item = Item(1, bad, Generation(prompt_id="bad", text="", image=encode_png(tiny["pixels"][0])))
    recon = Img2ImgReconstructionDetector.create(DetectorContext(modality="image"), {})
    assert recon is not None
    assert recon.detect([item], NO_PRIOR) == []
    assert _detector(tiny).detect([item], NO_PRIOR) == []


def test_reconstruction_cosine_with_the_index_embedding_model(tiny: dict[str, Any],
                                                              tmp_path: Path) -> None:
    from regurgitate.images.embed import Embedder
    from tests.images.test_embed import TinyDescriptor

    model = tmp_path / "tiny_sscd.pt"
    torch.jit.script(TinyDescriptor()).save(str(model))
    pix = tiny["pixels"]
    records = [SourceImage(id=f"e{i}", caption="c", pixels=p) for i, p in enumerate(pix)]
    build_image_index(records, tmp_path / "idx", IndexSettings(size=32),
                      embedder=Embedder(f"torchscript:{model}", size=32))
    ctx = DetectorContext(modality="image", image_index=ImageIndex(tmp_path / "idx"))
    det = Img2ImgReconstructionDetector.create(ctx, {})
    assert det is not None
    prompt = Prompt(id="p", attack="img2img", text="c", settings=GenerationSettings(seed=1),
                    meta={"strength": 0.5, "init_image": to_base64_png(pix[2])})
    same = Item(1, prompt, Generation(prompt_id="p", text="", image=encode_png(pix[2])))
    other = Item(2, prompt, Generation(prompt_id="p", text="", image=encode_png(pix[3])))
    a, b = (f.payload for f in det.detect([same, other], NO_PRIOR))
    assert isinstance(a, Img2ImgReconstruction) and isinstance(b, Img2ImgReconstruction)
    assert a.similarity == pytest.approx(1.0, abs=1e-5)
    assert b.similarity is not None and b.similarity < 0.99
    assert a.model.startswith("torchscript:")
