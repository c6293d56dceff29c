"""A local Hugging Face causal language model as a target (torch + transformers).

Prompts of one ``generate`` call are grouped by identical settings and run in batches of
``batch_size`` with left padding. Seeds: each batch of a group with a ``settings.seed`` runs
under ``torch.random.fork_rng`` seeded with it (the caller's global RNG state is restored
afterwards), so the same prompts in the same batch with the same seed give the same output;
a sampled prompt's output can change when its batch companions change. Unseeded batches
draw from (and advance) torch's global RNG.
Log-probs are those of the *unmodified* model distribution (log-softmax of the raw logits,
before temperature/top-k/top-p), which is what membership signals need.

``elapsed_s`` of a generation is its batch's wall time divided by the batch size; a batch
whose ``model.generate`` raises comes back as per-prompt errors.

Repetition controls: ``repetition_penalty`` and ``min_new_tokens`` (end-of-sequence
suppressed until then) are transformers' own logits processors; OpenAI-style
``frequency_penalty`` / ``presence_penalty`` are :mod:`regurgitate.targets.hf_penalties`.

Chat prompts use the tokenizer's chat template when it has one; otherwise the documented
fallback :func:`plain_chat_prompt` (``"System: ...\\nUser: ...\\nAssistant:"``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regurgitate.errors import ConfigError, MissingDependencyError, TargetError
from regurgitate.targets.base import Target
from regurgitate.targets.settings import group_by_settings, is_greedy, wants_chat
from regurgitate.types import Generation, GenerationSettings, Prompt

if TYPE_CHECKING:
    from regurgitate.detectors.scoring import HFScorer

_ROLE_LABELS = {"system": "System", "user": "User", "assistant": "Assistant"}


def plain_chat_prompt(messages: Sequence[Mapping[str, str]]) -> str:
    """Fallback chat rendering for tokenizers without a chat template."""
    lines = []
    for message in messages:
        role = message.get("role", "user")
        label = _ROLE_LABELS.get(role, role.capitalize())
        lines.append(f"{label}: {message.get('content', '')}")
    lines.append("Assistant:")
    return "\n".join(lines)


def _import_torch_transformers() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        name = "transformers" if "transformers" in str(exc) else "torch"
        raise MissingDependencyError(name, "hf", "the Hugging Face target") from exc
    return torch, transformers


class HFTarget(Target):
    """A causal LM loaded with ``transformers`` from a local directory (or a hub id).

    ``.tokenizer`` and ``.model`` are public so membership detectors can reuse them.
    """

    def scorer(self) -> HFScorer:
        """Scores texts with this target's loaded model (no second copy is loaded)."""
        from regurgitate.detectors.scoring import HFScorer

        return HFScorer.from_loaded(self.model, self.tokenizer, device=self.device,
                                    batch_size=self.batch_size)

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        dtype: str | None = None,
        batch_size: int = 8,
        trust_remote_code: bool = False,
        chat: bool = False,
    ) -> None:
        if batch_size < 1:
            raise TargetError(f"batch_size must be >= 1, got {batch_size}")
        from regurgitate.targets.hub import resolve_model

        given, model = model, resolve_model(model)  # a hub id: cached, or fail before torch
        torch, transformers = _import_torch_transformers()
        self._torch = torch
        self.name = f"hf:{given}"
        self.chat = chat
        self.batch_size = batch_size
        self.device = device
        local = Path(model).exists()
        if not local and (model.startswith((".", "~", "/")) or model.count("/") > 1):
            # a hub id is "name" or "org/name"; anything else is a local path that is missing
            raise TargetError(f"no model directory at {model}",
                              hint="pass a directory written by save_pretrained, or a hub id "
                              "such as org/name")
        load_kw: dict[str, Any] = {"trust_remote_code": trust_remote_code}
        if local:
            load_kw["local_files_only"] = True
        torch_dtype: Any = dtype
        if dtype not in (None, "auto"):
            torch_dtype = getattr(torch, str(dtype), None)
            if not isinstance(torch_dtype, torch.dtype):
                raise ConfigError(f"unknown dtype {dtype!r}",
                                  hint="e.g. float32, bfloat16, float16 or auto")
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(model, **load_kw)
            model_obj = transformers.AutoModelForCausalLM.from_pretrained(
                model, dtype=torch_dtype, **load_kw
            )
        except (OSError, ValueError, AttributeError) as exc:
            raise TargetError(
                f"cannot load model {model!r}: {exc}",
                hint="pass a directory written by save_pretrained, or a hub id you can reach",
            ) from exc
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            if tokenizer.eos_token is not None:
                tokenizer.pad_token = tokenizer.eos_token
            else:
                tokenizer.pad_token_id = 0
        self.tokenizer = tokenizer
        try:
            self.model = model_obj.to(device).eval()
        except (RuntimeError, AssertionError, ValueError) as exc:
            raise TargetError(f"cannot move the model to device {device!r}: {exc}") from exc
        self._eos_ids = self._eos_token_ids()
        bos_id = tokenizer.bos_token_id
        self._adds_bos = bos_id is not None and tokenizer("x")["input_ids"][:1] == [bos_id]
        self._max_positions = getattr(self.model.config, "max_position_embeddings", None)

    def _eos_token_ids(self) -> set[int]:
        ids: set[int] = set()
        for source in (self.model.generation_config.eos_token_id, self.tokenizer.eos_token_id):
            if isinstance(source, int):
                ids.add(source)
            elif source is not None:
                ids.update(source)
        return ids

    def render(self, prompt: Prompt) -> str:
        """The exact text fed to the model for a prompt."""
        if not wants_chat(prompt, self.chat):
            if prompt.text:
                return prompt.text
            # an unconditional sample starts from the document boundary token, as GPT-2 does
            return self.tokenizer.bos_token or self.tokenizer.eos_token or ""
        messages = [dict(m) for m in prompt.messages or ()]
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
            bos = self.tokenizer.bos_token
            if bos and text.startswith(bos) and self._adds_bos:
                text = text[len(bos) :]  # the tokenizer puts it back; avoid a double BOS
            return str(text)
        return plain_chat_prompt(messages)

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        results: list[Generation | None] = [None] * len(prompts)
        for settings, positions in group_by_settings(prompts).items():
            for start in range(0, len(positions), self.batch_size):
                chunk = positions[start : start + self.batch_size]
                batch = [prompts[i] for i in chunk]
                for i, gen in zip(chunk, self._generate_batch(batch, settings), strict=True):
                    results[i] = gen
        return [g for g in results if g is not None]

    def _generate_batch(
        self, prompts: list[Prompt], settings: GenerationSettings
    ) -> list[Generation]:
        torch = self._torch
        started = time.perf_counter()
        texts = [self.render(p) for p in prompts]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True)
        input_ids, attention = enc["input_ids"], enc["attention_mask"]
        max_new = settings.max_new_tokens
        if self._max_positions is not None:
            # prompt + generation must fit the context: keep the end of an over-long prompt
            # (at least half the context when the generation asked for more than fits) and
            # cut the generation to what is left; such generations end with "length"
            ctx_len, prompt_len = self._max_positions, input_ids.shape[1]
            if prompt_len + max_new > ctx_len:
                keep = min(prompt_len, max(ctx_len // 2, ctx_len - max_new))
                max_new = ctx_len - keep
                input_ids, attention = input_ids[:, -keep:], attention[:, -keep:]
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_new,
            "pad_token_id": self.tokenizer.pad_token_id,
            "return_dict_in_generate": True,
            "output_logits": settings.logprobs,
        }
        if self._eos_ids:
            kwargs["eos_token_id"] = sorted(self._eos_ids)
        kwargs.update(self._penalty_kwargs(settings, input_ids.shape[1], max_new))
        if is_greedy(settings):
            kwargs.update(do_sample=False, temperature=None, top_k=None, top_p=None)
        else:
            kwargs.update(
                do_sample=True,
                temperature=settings.temperature,
                top_k=settings.top_k or None,
                top_p=settings.top_p,
            )
        # a seeded batch runs on a forked RNG (the caller's state is restored afterwards);
        # an unseeded one draws from, and advances, torch's global RNG
        rng_scope: Any = contextlib.nullcontext()
        if settings.seed is not None:
            rng_scope = torch.random.fork_rng(devices=[] if self.device == "cpu" else None)
        try:
            with rng_scope:
                if settings.seed is not None:
                    torch.manual_seed(settings.seed)
                with torch.inference_mode():
                    out = self.model.generate(
                        input_ids=input_ids.to(self.device),
                        attention_mask=attention.to(self.device),
                        **kwargs,
                    )
        except (RuntimeError, ValueError, IndexError) as exc:
            elapsed = time.perf_counter() - started
            return [
                Generation(prompt_id=p.id, text="", error=f"generation failed: {exc}",
                           elapsed_s=elapsed)
                for p in prompts
            ]
        new_tokens = out.sequences[:, input_ids.shape[1] :].tolist()
        chosen_logprobs = self._chosen_logprobs(out, settings)
        elapsed = time.perf_counter() - started
        prompt_lengths = attention.sum(dim=1).tolist()
        gens = []
        for row, prompt in enumerate(prompts):
            ids = new_tokens[row]
            finish = "length"
            for j, tok in enumerate(ids):
                if tok in self._eos_ids:
                    ids, finish = ids[:j], "stop"
                    break
            lps = None
            if chosen_logprobs is not None:
                lps = tuple(chosen_logprobs[row][: len(ids)])
            gens.append(
                Generation(
                    prompt_id=prompt.id,
                    text=self.tokenizer.decode(ids, skip_special_tokens=True),
                    token_ids=tuple(ids),
                    logprobs=lps,
                    finish_reason=finish,
                    prompt_tokens=int(prompt_lengths[row]),
                    completion_tokens=len(ids),
                    elapsed_s=elapsed / len(prompts),
                )
            )
        return gens

    @staticmethod
    def _penalty_kwargs(settings: GenerationSettings, prompt_len: int,
                        max_new: int) -> dict[str, Any]:
        """``generate`` arguments for the repetition controls that are switched on.

        ``repetition_penalty`` and ``min_new_tokens`` are transformers' own processors; the
        OpenAI-style penalties are :func:`openai_penalty_processor`. ``min_new_tokens`` is
        clamped to what fits the context, like ``max_new_tokens``.
        """
        out: dict[str, Any] = {}
        if settings.repetition_penalty != 1.0:
            out["repetition_penalty"] = settings.repetition_penalty
        if settings.min_new_tokens:
            out["min_new_tokens"] = min(settings.min_new_tokens, max_new)
        if settings.frequency_penalty or settings.presence_penalty:
            from transformers import LogitsProcessorList

            from regurgitate.targets.hf_penalties import openai_penalty_processor

            out["logits_processor"] = LogitsProcessorList([openai_penalty_processor(
                prompt_len, settings.frequency_penalty, settings.presence_penalty)])
        return out

    def _chosen_logprobs(self, out: Any, settings: GenerationSettings) -> list[list[float]] | None:
        if not settings.logprobs or not getattr(out, "logits", None):
            return None
        torch = self._torch
        logits = torch.stack(out.logits, dim=1).float()  # (batch, steps, vocab)
        steps = logits.shape[1]
        chosen = out.sequences[:, -steps:].to(logits.device)
        logprobs = torch.log_softmax(logits, dim=-1).gather(-1, chosen.unsqueeze(-1))
        chosen_lps: list[list[float]] = logprobs.squeeze(-1).tolist()
        return chosen_lps

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"HFTarget({self.name!r}, device={self.device!r}, batch_size={self.batch_size})"
