"""The CPU dtype rule: every model the tool loads computes in float32 on the CPU unless the
user asks for another dtype, whatever dtype the checkpoint was saved in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from regurgitate.errors import ConfigError  # noqa: E402
from regurgitate.runtimes.devices import compute_dtype, describe_runtime  # noqa: E402
from regurgitate.runtimes.scoring import HFScorer  # noqa: E402
from regurgitate.targets.hf import HFTarget  # noqa: E402


def _saved_as(src: Path, dst: Path, dtype: object) -> Path:
    from transformers import AutoModelForCausalLM

    shutil.copytree(src, dst)
    model = AutoModelForCausalLM.from_pretrained(src, local_files_only=True)
    model.to(dtype).save_pretrained(dst)
    config = json.loads((dst / "config.json").read_text())
    assert config.get("dtype", config.get("torch_dtype")) == str(dtype).removeprefix("torch.")
    return dst


@pytest.fixture(scope="module", params=["float16", "bfloat16"])
def half_model_dir(request, tiny_model_dir, tmp_path_factory) -> Path:
    name = request.param
    return _saved_as(tiny_model_dir, tmp_path_factory.mktemp(name) / "m", getattr(torch, name))


def test_half_checkpoints_load_as_float32_on_cpu(half_model_dir):
    target = HFTarget(str(half_model_dir))
    assert target.runtime() == {"device": "cpu", "dtype": "float32"}
    assert all(p.dtype == torch.float32 for p in target.model.parameters())
    # the scorer the target hands out is the same loaded model, not a second copy
    assert target.scorer().lm is target.lm
    assert HFScorer(half_model_dir).lm.runtime["dtype"] == "float32"


def test_dtype_option_overrides_the_rule(half_model_dir):
    assert HFTarget(str(half_model_dir), dtype="bfloat16").runtime()["dtype"] == "bfloat16"
    saved = json.loads((half_model_dir / "config.json").read_text())
    own = saved.get("dtype", saved.get("torch_dtype"))
    assert HFTarget(str(half_model_dir), dtype="auto").runtime()["dtype"] == own
    assert HFScorer(half_model_dir, dtype="float16").lm.runtime["dtype"] == "float16"


def test_rule_on_accelerators_keeps_the_checkpoint_dtype():
    assert compute_dtype(torch, None, "cpu") is torch.float32
    assert compute_dtype(torch, None, "cuda:0") == "auto"
    assert compute_dtype(torch, "float16", "cpu") is torch.float16
    assert compute_dtype(torch, "torch.bfloat16", "cuda") is torch.bfloat16
    with pytest.raises(ConfigError, match="unknown dtype"):
        compute_dtype(torch, "float17", "cpu")
    assert describe_runtime({"device": "cpu", "dtype": "float32"}) == "cpu, float32"


def test_diffusers_unet_in_half_precision_loads_as_float32(tmp_path):
    diffusers = pytest.importorskip("diffusers")
    from regurgitate.targets.diffusers_target import DiffusersTarget

    unet = diffusers.UNet2DModel(
        sample_size=8, in_channels=1, out_channels=1, layers_per_block=1,
        block_out_channels=(8, 16), norm_num_groups=4,
        down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"))
    unet.to(torch.float16).save_pretrained(tmp_path / "unet")
    diffusers.DDPMScheduler(num_train_timesteps=10).save_pretrained(tmp_path / "scheduler")
    target = DiffusersTarget(str(tmp_path), steps=2)
    assert target.runtime() == {"device": "cpu", "dtype": "float32"}
    assert DiffusersTarget(str(tmp_path), steps=2, dtype="bfloat16").runtime()["dtype"] == \
        "bfloat16"
