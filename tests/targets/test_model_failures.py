"""An exception inside a diffusers pipeline call is a model failure with the model's own
message (exit 5), never a traceback (issue 26): a standard Stable Diffusion folder whose
CLIPTokenizer was saved without ``model_max_length`` raises OverflowError in the pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regurgitate.errors import TargetError
from regurgitate.types import GenerationSettings, Prompt
from tests.images.conftest import save_tiny_sd


def _without_model_max_length(tmp_path: Path) -> Path:
    path = save_tiny_sd(tmp_path)
    cfg_path = path / "tokenizer" / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.pop("model_max_length", None)
    cfg_path.write_text(json.dumps(cfg))
    return path


def test_a_pipeline_exception_is_exit_5_with_its_message(tmp_path: Path, image_folder,  # type: ignore[no-untyped-def]
                                                         run_cli) -> None:
    from regurgitate.targets.diffusers_target import DiffusersTarget

    path = _without_model_max_length(tmp_path)
    prompts = [Prompt(id="p", attack="t", text="a b", settings=GenerationSettings(seed=1),
                      meta={"steps": 2})]
    with pytest.raises(TargetError, match="OverflowError"):
        DiffusersTarget(str(path), batch_size=1, steps=2).generate(prompts)
    folder, _ = image_folder
    idx = tmp_path / "idx"
    code, _, err = run_cli(["index", "build-images", str(folder), "-o", str(idx)])
    assert code == 0, err
    code, _, err = run_cli(["scan", "--target", f"diffusers:{path}?steps=2", "--index", str(idx),
                            "--max-generations", "2", "--run", str(tmp_path / "run.db")])
    assert code == 5
    assert "OverflowError" in err and "Traceback" not in err
