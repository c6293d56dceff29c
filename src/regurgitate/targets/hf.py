"""A local Hugging Face causal language model as a target (torch + transformers).

Prompts of one ``generate`` call are grouped by identical settings (their seeds aside) and
run in batches of ``batch_size`` with left padding. Seeds: a seeded sampled prompt draws from
its own generator seeded with ``settings.seed`` (:mod:`regurgitate.targets.hf_seeded_sampler`), so
it gets the same output whatever its batch companions, and torch's global RNG is left alone.
Unseeded batches draw from (and advance) torch's global RNG.
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

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regurgitate.errors import ConfigError, TargetError
from regurgitate.runtimes.causal_lm import CausalLM, import_torch_transformers
from regurgitate.targets.base import Target
from regurgitate.targets.model_failure import ModelCalls
from regurgitate.targets.settings import group_by_settings, is_greedy, wants_chat
from regurgitate.types import Generation, GenerationSettings, Prompt

if TYPE_CHECKING:
    from regurgitate.runtimes.scoring import HFScorer
    from regurgitate.targets.profile import TargetProfile

#: steps of generation logits turned into scores at a time (bounds the stacked copy)
_STEP_CHUNK = 64

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


class HFTarget(Target):
    """A causal LM loaded with ``transformers`` from a local directory (or a hub id).

    ``device``: where the model runs (cpu, cuda, cuda:1, ...).
    ``dtype``: on the CPU the model computes in float32 unless ``dtype`` says otherwise (auto:
    the checkpoint's own); on an accelerator the checkpoint's own dtype stays
    (:mod:`regurgitate.runtimes.devices`).
    ``trust_remote_code``: let transformers run model code shipped with the checkpoint.

    ``.lm`` is the
    shared :class:`~regurgitate.runtimes.causal_lm.CausalLM` core (``.model`` and ``.tokenizer`` its
    transformers objects), which the membership and (n, p) scorers reuse.
    """

    def scorer(self) -> HFScorer:
        """Scores texts with this target's loaded model (no second copy is loaded)."""
        from regurgitate.runtimes.scoring import HFScorer

        return HFScorer.from_lm(self.lm)

    def suffix_scorer(self) -> HFScorer:
        """Scores true suffixes ((n, p)) with this target's loaded model and rendering."""
        from regurgitate.runtimes.scoring import HFScorer

        return HFScorer.from_lm(self.lm, render=self.render)

    def token_counter(self) -> Any:
        """The model's own (transformers) tokenizer."""
        return self.tokenizer

    def tokenizer_definition(self) -> str | None:
        """The ``tokenizers`` definition of the model's fast tokenizer (None: a slow one)."""
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        return str(backend.to_str()) if backend is not None else None

    def profile(self) -> TargetProfile:
        """The BOS rule, tokenizer and chat template fingerprints, context, batch size and
        the threads this process computes with."""
        from regurgitate.runtimes.devices import torch_threads
        from regurgitate.targets.profile import TargetProfile, tokenizer_facts

        return TargetProfile(**tokenizer_facts(self.tokenizer),
                             context=self._max_positions or self.lm.max_length,
                             batch_size=self.batch_size, threads=torch_threads())

    def runtime(self) -> dict[str, str]:
        return self.lm.runtime if self.lm is not None else {}

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
        from regurgitate.runtimes.hub import resolve_model

        given, model = model, resolve_model(model)  # a hub id: cached, or fail before torch
        torch, _ = import_torch_transformers()
        self._torch = torch
        self.name = f"hf:{given}"
        self.chat = chat
        self.batch_size = batch_size
        self.device = device
        local = Path(model).exists()
        if not local and (model.startswith((".", "~", "/")) or model.count("/") > 1):
            # a hub id is "name" or "org/name"; anything else is a local path that is missing:
            # a usage error (exit 2), not a model that failed (exit 5)
            raise ConfigError(f"no model directory at {model}",
                              hint="pass a directory written by save_pretrained, or a hub id "
                              "such as org/name")
        self.lm: CausalLM = CausalLM.load(model, device=device, dtype=dtype,
                                          batch_size=batch_size,
                                          trust_remote_code=trust_remote_code,
                                          local_files_only=local or None)
        tokenizer = self.lm.tokenizer
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            if tokenizer.eos_token is not None:
                tokenizer.pad_token = tokenizer.eos_token
            else:
                tokenizer.pad_token_id = 0
        self.tokenizer = tokenizer
        self.model = self.lm.model
        self._eos_ids = self._eos_token_ids()
        self._adds_bos = self.lm.adds_bos
        self._max_positions = getattr(self.model.config, "max_position_embeddings", None)
        #: positions of the model (prompt + generation), None when its config gives none
        self.context_window: int | None = self._max_positions
        self._calls = ModelCalls(given)

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
        # prompts differing only in their seeds share batches: each row samples from its own
        # seeded generator (hf_sampling), so its output does not depend on its companions
        unseeded = [replace(p, settings=replace(p.settings, seed=None)) for p in prompts]
        for _, positions in group_by_settings(unseeded).items():
            for start in range(0, len(positions), self.batch_size):
                chunk = positions[start : start + self.batch_size]
                batch = [prompts[i] for i in chunk]
                settings = unseeded[chunk[0]].settings
                for i, gen in zip(chunk, self._generate_batch(batch, settings), strict=True):
                    results[i] = gen
        return [g for g in results if g is not None]

    def _generate_batch(
        self, prompts: list[Prompt], settings: GenerationSettings
    ) -> list[Generation]:
        """One ``generate`` call; ``settings`` are the batch's shared ones (without a seed),
        each prompt's own seed is read from the prompt."""
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
        seeds = [p.settings.seed for p in prompts]
        if is_greedy(settings):
            kwargs.update(do_sample=False, temperature=None, top_k=None, top_p=None)
        elif all(seed is None for seed in seeds):
            # unseeded: transformers' own sampling, drawing from (and advancing) torch's
            # global RNG
            kwargs.update(
                do_sample=True,
                temperature=settings.temperature,
                top_k=settings.top_k or None,
                top_p=settings.top_p,
            )
        else:
            # seeded: each row draws from its own generator (an unseeded row in the batch gets
            # a seed drawn from the global RNG); generate itself then runs greedily
            from transformers import LogitsProcessorList

            from regurgitate.targets.hf_seeded_sampler import seeded_sampler

            row_seeds = [int(s) if s is not None else
                         int(torch.randint(0, 2**62, (1,)).item()) for s in seeds]
            processors = LogitsProcessorList(kwargs.pop("logits_processor", []))
            processors.append(seeded_sampler(row_seeds, settings.temperature,
                                             settings.top_k, settings.top_p))
            kwargs.update(do_sample=False, temperature=None, top_k=None, top_p=None,
                          logits_processor=processors)
        try:
            with torch.inference_mode():
                out = self.model.generate(
                    input_ids=input_ids.to(self.device),
                    attention_mask=attention.to(self.device),
                    **kwargs,
                )
        except Exception as exc:
            error = self._calls.failed(exc)
            elapsed = time.perf_counter() - started
            return [Generation(prompt_id=p.id, text="", error=error, elapsed_s=elapsed)
                    for p in prompts]
        self._calls.ok()
        new_tokens = out.sequences[:, input_ids.shape[1] :].tolist()
        scores = self._step_scores(out, settings)
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
            lps = d_mean = d_var = None
            if scores is not None:
                lps, d_mean, d_var = (tuple(v[row][: len(ids)]) for v in scores)
            gens.append(
                Generation(
                    prompt_id=prompt.id,
                    text=self.tokenizer.decode(ids, skip_special_tokens=True),
                    token_ids=tuple(ids),
                    logprobs=lps,
                    dist_mean=d_mean,
                    dist_var=d_var,
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

    def _step_scores(self, out: Any, settings: GenerationSettings
                     ) -> tuple[list[list[float]], list[list[float]], list[list[float]]] | None:
        """Per row and step, from the raw logits ``generate`` returned (the unmodified model
        distribution, before temperature, top-k/p and penalties): the chosen token's log-prob
        and the mean and variance of log p under the step's distribution. Steps are taken in
        chunks so no (batch, steps, vocab) copy of all logits is made at once."""
        if not settings.logprobs or not getattr(out, "logits", None):
            return None
        torch = self._torch
        steps = len(out.logits)
        chosen_ids = out.sequences[:, -steps:]
        parts: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
        for a in range(0, steps, _STEP_CHUNK):
            logits = torch.stack(out.logits[a:a + _STEP_CHUNK], dim=1)  # (batch, chunk, vocab)
            for part, value in zip(parts, self.lm.step_stats(
                    torch, logits, chosen_ids[:, a:a + logits.shape[1]]), strict=True):
                part.append(value)
        lp, mean, var = (torch.cat(p, dim=1).cpu().tolist() for p in parts)
        return lp, mean, var

    def close(self) -> None:
        self.model = None
        self.lm = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"HFTarget({self.name!r}, device={self.device!r}, batch_size={self.batch_size})"
