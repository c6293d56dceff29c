"""Generation replicas on Ray: one actor per model copy, prompt batches spread over them.

The scan loop is unchanged: it hands this target a batch of ``replicas * batch_size``
prompts; the target cuts it into consecutive ``batch_size`` chunks (the batches a local run
would form, so seeded runs give the same generations), sends them to the replicas in parallel
and returns the generations in order. The driver alone writes the run store, so resuming
works exactly as for a local target. A replica that dies raises ``TargetError`` (the finished
batches are stored; rerunning the command resumes).

``vllm:`` targets go through Ray Data's LLM processor instead (``ray.data.llm``, GPUs only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from regurgitate.errors import TargetError, optional_import
from regurgitate.executors.ray_support import import_ray, unwrap
from regurgitate.targets.base import Target
from regurgitate.types import Generation, Prompt


class GenerationReplica:
    """One model copy (becomes a Ray actor): builds the target from its spec where it runs."""

    def __init__(self, spec: str) -> None:
        from regurgitate.targets.spec import make_target

        self.target = make_target(spec)

    def describe(self) -> dict[str, Any]:
        return {"chat": self.target.chat, "batch_size": self.target.batch_size}

    def generate(self, prompts: list[Prompt]) -> list[Generation]:
        return self.target.generate(prompts)


class RayGenerationTarget(Target):
    def __init__(self, spec: str, *, replicas: int = 1, num_cpus: float = 1.0,
                 num_gpus: float = 0.0) -> None:
        from regurgitate.targets.spec import parse_spec

        if replicas < 1:
            raise TargetError("--replicas must be >= 1")
        ray = import_ray()
        self._ray = ray
        self.name = parse_spec(spec).name
        actor = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus)(GenerationReplica)
        self._actors = [actor.remote(spec) for _ in range(replicas)]
        try:
            info = ray.get([a.describe.remote() for a in self._actors])[0]
        except ray.exceptions.RayError as exc:
            self.close()
            err = unwrap(exc)
            raise (err if not isinstance(err, ray.exceptions.RayError) else TargetError(
                f"a generation replica of {self.name} failed to start: {exc}")) from None
        self.chat = bool(info["chat"])
        self.replica_batch = int(info["batch_size"])
        self.batch_size = self.replica_batch * replicas

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        ray = self._ray
        step = self.replica_batch
        chunks = [list(prompts[i:i + step]) for i in range(0, len(prompts), step)]
        refs = [self._actors[k % len(self._actors)].generate.remote(c)
                for k, c in enumerate(chunks)]
        try:
            results = ray.get(refs)
        except ray.exceptions.RayError as exc:
            err = unwrap(exc)
            if isinstance(err, TargetError):
                raise err from None
            raise TargetError(f"a generation replica of {self.name} failed: "
                              f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                              ) from None
        return [g for batch in results for g in batch]

    def close(self) -> None:
        for a in self._actors:
            self._ray.kill(a)
        self._actors = []


def vllm_rows(prompts: Sequence[Prompt]) -> list[dict[str, Any]]:
    """Ray Data rows for the vLLM processor: prompt text or chat messages, sampling params."""
    from regurgitate.targets.vllm import sampling_kwargs

    rows = []
    for p in prompts:
        row: dict[str, Any] = {"prompt_id": p.id, "sampling_params": sampling_kwargs(p.settings)}
        if p.messages is not None:
            row["messages"] = [dict(m) for m in p.messages]
        else:
            row["prompt"] = p.text or ""
        rows.append(row)
    return rows


class RayVLLMTarget(Target):
    """``vllm:MODEL`` on a Ray cluster's GPUs through ``ray.data.llm`` (``replicas`` engines)."""

    def __init__(self, spec: str, *, replicas: int = 1) -> None:
        from regurgitate.targets.spec import parse_spec

        parsed = parse_spec(spec)
        self.name = parsed.name
        self._model = parsed.location
        self._replicas = replicas
        self.batch_size = 64 * replicas
        optional_import("ray.data.llm", package="ray[llm]", extra="ray",
                        purpose="vLLM generation on Ray")

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        import ray
        from ray.data.llm import build_processor, vLLMEngineProcessorConfig

        chat = any(p.messages is not None for p in prompts)
        rows = vllm_rows(prompts)
        config = vLLMEngineProcessorConfig(
            model_source=self._model, concurrency=self._replicas, batch_size=16,
            chat_template_stage={"enabled": chat}, tokenize_stage={"enabled": True},
            detokenize_stage={"enabled": True})
        processor = build_processor(config, postprocess=lambda row: {
            "prompt_id": row["prompt_id"], "text": row.get("generated_text", ""),
            "token_ids": list(row.get("generated_tokens", [])),
            "prompt_tokens": row.get("num_input_tokens"),
            "completion_tokens": row.get("num_generated_tokens")})
        out = {r["prompt_id"]: r for r in processor(ray.data.from_items(rows)).take_all()}
        gens = []
        for p in prompts:
            r = out.get(p.id)
            if r is None:
                gens.append(Generation(prompt_id=p.id, text="", error="no output from vLLM"))
                continue
            gens.append(Generation(prompt_id=p.id, text=str(r["text"]),
                                   token_ids=tuple(int(t) for t in r["token_ids"]),
                                   prompt_tokens=r["prompt_tokens"],
                                   completion_tokens=r["completion_tokens"]))
        return gens


def make_ray_target(spec: str, *, replicas: int = 1) -> Target:
    from regurgitate.targets.spec import parse_spec

    if parse_spec(spec).scheme == "vllm":
        return RayVLLMTarget(spec, replicas=replicas)
    return RayGenerationTarget(spec, replicas=replicas)
