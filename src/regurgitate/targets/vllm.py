"""A model served in-process by vLLM (GPU machines only; ``pip install 'regurgitate[vllm]'``).

Prompts are grouped by identical settings; each group becomes one ``SamplingParams`` built
from :func:`sampling_kwargs` (a plain dict, testable without vLLM) and one ``llm.generate``
or ``llm.chat`` call, which vLLM batches internally. ``logprobs=1`` gives the log-prob of
each chosen token. Seeds are per request (vLLM's ``SamplingParams.seed``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from regurgitate.errors import ConfigError, TargetError, optional_import
from regurgitate.targets.base import Target
from regurgitate.targets.settings import (
    group_by_settings,
    is_greedy,
    penalty_fields,
    validate_settings,
    wants_chat,
)
from regurgitate.types import Generation, GenerationSettings, Prompt


def sampling_kwargs(settings: GenerationSettings) -> dict[str, Any]:
    """``vllm.SamplingParams`` keyword arguments for ``settings``."""
    validate_settings(settings)
    kwargs: dict[str, Any] = {"max_tokens": settings.max_new_tokens}
    if is_greedy(settings):
        kwargs["temperature"] = 0.0
    else:
        kwargs["temperature"] = settings.temperature
        kwargs["top_p"] = settings.top_p
        if settings.top_k:
            kwargs["top_k"] = settings.top_k
    if settings.seed is not None:
        kwargs["seed"] = settings.seed
    if settings.logprobs:
        kwargs["logprobs"] = 1
    # vLLM's own names and semantics (OpenAI's for the first two, HF's for the third)
    kwargs.update(penalty_fields(settings))
    return kwargs


def engine_kwargs(
    model: str, *, tensor_parallel_size: int, dtype: str, gpu_memory_utilization: float,
    max_model_len: int | None, seed: int, extra: dict[str, Any],
) -> dict[str, Any]:
    """``vllm.LLM`` keyword arguments, validated."""
    if tensor_parallel_size < 1:
        raise ConfigError(f"tensor_parallel_size must be >= 1, got {tensor_parallel_size}")
    if not 0.0 < gpu_memory_utilization <= 1.0:
        raise ConfigError(
            f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization}")
    if max_model_len is not None and max_model_len < 1:
        raise ConfigError(f"max_model_len must be >= 1, got {max_model_len}")
    kwargs: dict[str, Any] = {
        "model": model, "tensor_parallel_size": tensor_parallel_size, "dtype": dtype,
        "gpu_memory_utilization": gpu_memory_utilization, "seed": seed,
    }
    if max_model_len is not None:
        kwargs["max_model_len"] = max_model_len
    kwargs.update(extra)
    return kwargs


def _import_vllm() -> Any:
    return optional_import("vllm", extra="vllm", purpose="the vLLM target")


def chosen_logprobs(token_ids: Sequence[int], logprobs: Any) -> tuple[float, ...] | None:
    """Log-prob of each chosen token from vLLM's per-position ``{token_id: Logprob}`` dicts."""
    if logprobs is None:
        return None
    out = []
    for tok, entry in zip(token_ids, logprobs, strict=False):
        value = entry.get(tok) if entry else None
        lp = getattr(value, "logprob", value)
        out.append(float(lp) if lp is not None else float("nan"))
    return tuple(out)


class VLLMTarget(Target):
    """A model run by ``vllm.LLM`` in this process."""

    def __init__(
        self,
        model: str,
        *,
        #: GPUs one model is split over
        tensor_parallel_size: int = 1,
        #: weights dtype: auto, float16, bfloat16 or float32
        dtype: str = "auto",
        #: share of each GPU's memory vLLM may take
        gpu_memory_utilization: float = 0.9,
        #: context length (none: the model's own)
        max_model_len: int | None = None,
        #: vLLM's engine seed
        seed: int = 0,
        chat: bool = False,
        batch_size: int = 256,
        **engine_extra: Any,
    ) -> None:
        kwargs = engine_kwargs(
            model, tensor_parallel_size=tensor_parallel_size, dtype=dtype,
            gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len,
            seed=seed, extra=engine_extra,
        )
        vllm = _import_vllm()
        self._vllm = vllm
        self.name = f"vllm:{model}"
        self.chat = chat
        self.batch_size = batch_size
        try:
            self.llm = vllm.LLM(**kwargs)
        except Exception as exc:
            raise TargetError(f"vLLM could not load {model!r}: {exc}",
                              hint="vLLM needs a supported GPU") from exc

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        results: list[Generation | None] = [None] * len(prompts)
        for settings, positions in group_by_settings(prompts).items():
            params = self._vllm.SamplingParams(**sampling_kwargs(settings))
            chat_pos = [i for i in positions if wants_chat(prompts[i], self.chat)]
            text_pos = [i for i in positions if i not in set(chat_pos)]
            started = time.perf_counter()
            outputs: list[tuple[int, Any]] = []
            if text_pos:
                outs = self.llm.generate([prompts[i].text or "" for i in text_pos], params,
                                         use_tqdm=False)
                outputs.extend(zip(text_pos, outs, strict=True))
            if chat_pos:
                convs = [[dict(m) for m in prompts[i].messages or ()] for i in chat_pos]
                outs = self.llm.chat(convs, params, use_tqdm=False)
                outputs.extend(zip(chat_pos, outs, strict=True))
            per_prompt = (time.perf_counter() - started) / max(1, len(positions))
            for i, out in outputs:
                results[i] = self._to_generation(prompts[i], out, per_prompt)
        return [g for g in results if g is not None]

    @staticmethod
    def _to_generation(prompt: Prompt, out: Any, elapsed: float) -> Generation:
        completion = out.outputs[0]
        ids = tuple(int(t) for t in completion.token_ids)
        return Generation(
            prompt_id=prompt.id,
            text=completion.text,
            token_ids=ids,
            logprobs=chosen_logprobs(ids, completion.logprobs),
            finish_reason="length" if completion.finish_reason == "length" else "stop",
            prompt_tokens=len(out.prompt_token_ids or ()),
            completion_tokens=len(ids),
            elapsed_s=elapsed,
        )

    def close(self) -> None:
        self.llm = None

    def __repr__(self) -> str:
        return f"VLLMTarget({self.name!r})"
