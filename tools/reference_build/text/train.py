"""Train the reference GPT-2-style model from scratch on the reference corpus (CPU).

Fixed seeds, random 128-token windows of the concatenated corpus (documents joined by
``<|endoftext|>``), AdamW with linear warm-up and cosine decay, optional bf16 autocast. Weights are
stored as fp16 safetensors (half the size); ``config.json`` says float32 so that loading with
the default dtype upcasts them.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from regurgitate.errors import ConfigError, MissingDependencyError


@dataclass(frozen=True, slots=True)
class TrainSpec:
    """Model shape and optimisation settings; the defaults built the shipped model."""

    steps: int = 800
    batch_size: int = 16
    context: int = 128
    n_layer: int = 4
    n_embd: int = 256
    n_head: int = 4
    lr: float = 3e-3
    warmup_steps: int = 60
    weight_decay: float = 0.01
    seed: int = 1234
    threads: int = 1  # 2 threads on a shared 2-core machine ran 3-4x slower
    log_every: int = 25
    bf16: bool = False  # bf16 autocast was 20x slower than fp32 on this CPU


@dataclass(frozen=True, slots=True)
class TrainResult:
    steps: int
    final_loss: float
    wall_s: float
    s_per_step: float
    parameters: int
    losses: tuple[tuple[int, float], ...]


def _require_torch() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise MissingDependencyError("transformers", "hf",
                                     "training the reference model") from exc
    return torch, transformers


def lr_at(step: int, spec: TrainSpec) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak."""
    if step < spec.warmup_steps:
        return spec.lr * (step + 1) / spec.warmup_steps
    progress = (step - spec.warmup_steps) / max(1, spec.steps - spec.warmup_steps)
    return spec.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


def train_model(token_ids: Sequence[int], vocab_size: int, eot_id: int, out_dir: Path,
                spec: TrainSpec, log: Callable[[str], None] = print) -> TrainResult:
    """Train on ``token_ids`` (the whole corpus as one stream) and save to ``out_dir``."""
    torch, transformers = _require_torch()
    import numpy as np

    if spec.steps < 1:
        raise ConfigError("--steps must be at least 1")
    if len(token_ids) <= spec.context + 1:
        raise ConfigError("the corpus is shorter than one training window")
    torch.manual_seed(spec.seed)
    torch.set_num_threads(spec.threads)
    config = transformers.GPT2Config(
        vocab_size=vocab_size, n_positions=spec.context, n_embd=spec.n_embd,
        n_layer=spec.n_layer, n_head=spec.n_head, resid_pdrop=0.0, embd_pdrop=0.0,
        attn_pdrop=0.0, bos_token_id=eot_id, eos_token_id=eot_id, pad_token_id=eot_id,
    )
    model = transformers.GPT2LMHeadModel(config)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params:,} parameters; corpus: {len(token_ids):,} tokens")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": spec.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=spec.lr, betas=(0.9, 0.95))
    data = torch.from_numpy(np.asarray(token_ids, dtype=np.int64))
    rng = np.random.default_rng(spec.seed)
    model.train()
    losses: list[tuple[int, float]] = []
    window: list[float] = []
    start = time.perf_counter()
    for step in range(spec.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, spec)
        offsets = rng.integers(0, len(data) - spec.context, size=spec.batch_size)
        batch = torch.stack([data[o:o + spec.context] for o in offsets.tolist()])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=spec.bf16):
            loss = model(input_ids=batch, labels=batch).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        window.append(float(loss.detach()))
        if (step + 1) % spec.log_every == 0 or step + 1 == spec.steps:
            mean = sum(window) / len(window)
            losses.append((step + 1, round(mean, 4)))
            el = time.perf_counter() - start
            log(f"step {step + 1}/{spec.steps} loss {mean:.4f} lr {lr_at(step, spec):.2e} "
                f"{el:.0f}s ({el / (step + 1):.3f} s/step)")
            window = []
    wall = time.perf_counter() - start
    save_model(model, out_dir)
    result = TrainResult(steps=spec.steps, final_loss=losses[-1][1], wall_s=round(wall, 1),
                         s_per_step=round(wall / spec.steps, 3), parameters=n_params,
                         losses=tuple(losses))
    (out_dir / "training.json").write_text(
        json.dumps({"spec": asdict(spec), "result": asdict(result)}, indent=1) + "\n")
    return result


def save_model(model: Any, out_dir: Path) -> None:
    """fp16 safetensors weights; config.json records float32 so loads upcast by default.

    The in-memory model is left in float32 but rounded to fp16 precision, like the file.
    """
    import torch

    out_dir.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.to(torch.float16)
    model.save_pretrained(str(out_dir))
    model.to(torch.float32)
    for path in out_dir.iterdir():  # safetensors files are written owner-only (0600)
        if path.is_file():
            path.chmod(0o644)
    cfg_path = out_dir / "config.json"
    cfg = json.loads(cfg_path.read_text())
    for key in ("dtype", "torch_dtype"):
        if key in cfg:
            cfg[key] = "float32"
    cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    # a served chat model samples by default (transformers serve, like most chat APIs, only
    # samples when generation_config says so); our own targets pass every decoding setting
    gen_path = out_dir / "generation_config.json"
    gen = json.loads(gen_path.read_text())
    gen["do_sample"] = True
    gen_path.write_text(json.dumps(gen, indent=2) + "\n")
