"""Turn the pretrained reference model into a small chat model with a longer context.

Stage 1 (``long_steps``): the learned position embeddings grow from the pretrained context to
``context`` (new rows start as copies of the last half of the old ones) and pretraining
continues on random ``context``-token windows of the corpus, so planted passages keep their
duplication-driven memorization at every position.
Stage 2 (``chat_steps``): instruction tuning on :mod:`~tools.reference_build.text.chat_data`
dialogues rendered with :data:`~tools.reference_build.text.chat_data.CHAT_TEMPLATE` (loss on the
assistant turns only), each step mixed with a batch of corpus windows, as chat models are
tuned with pretraining data mixed in. The template is saved in the tokenizer config.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from regurgitate.errors import ConfigError
from tools.reference_build.text.chat_data import CHAT_TEMPLATE, Dialogue
from tools.reference_build.text.train import _require_torch, save_model


@dataclass(frozen=True, slots=True)
class ChatSpec:
    """Settings of the long-context + chat stages; the defaults built the shipped model."""

    context: int = 512
    long_steps: int = 120
    chat_steps: int = 360
    batch_size: int = 8  # corpus windows per step
    chat_batch_size: int = 8  # dialogues per step (stage 2)
    lr: float = 1e-3
    warmup_steps: int = 20
    weight_decay: float = 0.01
    seed: int = 4321
    threads: int = 1
    log_every: int = 10


def _lr(step: int, total: int, spec: ChatSpec) -> float:
    if step < spec.warmup_steps:
        return spec.lr * (step + 1) / spec.warmup_steps
    progress = (step - spec.warmup_steps) / max(1, total - spec.warmup_steps)
    return spec.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


def extend_positions(model: Any, context: int) -> None:
    """Grow GPT-2's learned position table to ``context`` rows (in place)."""
    torch, _ = _require_torch()
    old = model.transformer.wpe.weight.data
    n_old = old.shape[0]
    if context < n_old:
        raise ConfigError(f"context {context} is shorter than the model's {n_old}")
    if context == n_old:
        return
    tail = old[n_old // 2:]
    reps = math.ceil((context - n_old) / tail.shape[0])
    extra = tail.repeat(reps, 1)[: context - n_old]
    table = torch.nn.Embedding(context, old.shape[1])
    table.weight.data = torch.cat([old, extra], dim=0).clone()
    model.transformer.wpe = table
    model.config.n_positions = context


def encode_dialogue(tok: Any, d: Dialogue, context: int) -> tuple[list[int], list[int]] | None:
    """(input ids, labels) with labels -100 outside the assistant turn; None if too long."""
    prompt = tok.apply_chat_template(d.messages()[:1], tokenize=False,
                                     add_generation_prompt=True)
    full = tok.apply_chat_template(d.messages(), tokenize=False)
    if not full.startswith(prompt):
        raise ConfigError("the chat template does not extend its generation prompt")
    p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    a_ids = tok(full[len(prompt):].rstrip("\n"), add_special_tokens=False)["input_ids"]
    ids = p_ids + a_ids
    if len(ids) > context:
        return None
    return ids, [-100] * len(p_ids) + a_ids


def train_chat(model_dir: Path, stream: Sequence[int], dialogues: Sequence[Dialogue],
               spec: ChatSpec, log: Callable[[str], None] = print,
               record: str = "chat_training.json") -> dict[str, Any]:
    """Load the model in ``model_dir``, run both stages, save it back with the template."""
    if spec.long_steps < 0 or spec.chat_steps < 0 or spec.long_steps + spec.chat_steps < 1:
        raise ConfigError("--long-steps and --chat-steps must be >= 0, and not both 0")
    if len(stream) <= spec.context + 1:
        raise ConfigError("the corpus is shorter than one training window")
    torch, transformers = _require_torch()
    import numpy as np

    torch.manual_seed(spec.seed)
    torch.set_num_threads(spec.threads)
    tok = transformers.AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    tok.chat_template = CHAT_TEMPLATE
    model = transformers.AutoModelForCausalLM.from_pretrained(
        str(model_dir), local_files_only=True, dtype=torch.float32)
    extend_positions(model, spec.context)
    eos = int(tok.eos_token_id)
    encoded = [e for e in (encode_dialogue(tok, d, spec.context) for d in dialogues) if e]
    if not encoded:
        raise ConfigError("no dialogue fits the context")
    log(f"long context {spec.context}; {len(encoded)} dialogues; corpus {len(stream):,} tokens")
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": spec.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=spec.lr, betas=(0.9, 0.95))
    data = torch.from_numpy(np.asarray(stream, dtype=np.int64))
    rng = np.random.default_rng(spec.seed)
    total = spec.long_steps + spec.chat_steps
    model.train()
    losses: list[tuple[int, float, float]] = []
    win: list[float] = []
    cwin: list[float] = []
    start = time.perf_counter()
    for step in range(total):
        for group in opt.param_groups:
            group["lr"] = _lr(step, total, spec)
        offsets = rng.integers(0, len(data) - spec.context, size=spec.batch_size)
        batch = torch.stack([data[o:o + spec.context] for o in offsets.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        win.append(float(loss.detach()))
        if step >= spec.long_steps:
            picks = rng.integers(0, len(encoded), size=spec.chat_batch_size).tolist()
            rows = [encoded[i] for i in picks]
            width = max(len(r[0]) for r in rows)
            ids = torch.full((len(rows), width), eos, dtype=torch.long)
            labels = torch.full((len(rows), width), -100, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, (x, y) in enumerate(rows):
                ids[r, :len(x)] = torch.tensor(x)
                labels[r, :len(y)] = torch.tensor(y)
                mask[r, :len(x)] = 1
            closs = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            cwin.append(float(closs.detach()))
            loss = loss + closs
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (step + 1) % spec.log_every == 0 or step + 1 == total:
            m = sum(win) / len(win)
            c = sum(cwin) / len(cwin) if cwin else float("nan")
            losses.append((step + 1, round(m, 4), round(c, 4)))
            el = time.perf_counter() - start
            log(f"step {step + 1}/{total} corpus loss {m:.4f} chat loss {c:.4f} "
                f"{el:.0f}s ({el / (step + 1):.3f} s/step)")
            win, cwin = [], []
    wall = time.perf_counter() - start
    save_model(model, model_dir)
    tok.model_max_length = spec.context
    tok.save_pretrained(str(model_dir))
    result = {"steps": total, "wall_s": round(wall, 1), "s_per_step": round(wall / total, 3),
              "dialogues": len(encoded), "losses": losses}
    (model_dir / record).write_text(
        json.dumps({"spec": asdict(spec), "result": result}, indent=1) + "\n")
    return result
