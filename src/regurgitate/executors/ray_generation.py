"""Generation replicas on Ray: one actor per model copy, prompt batches spread over them.

The scan loop is unchanged: it hands this target a batch of ``replicas * batch_size``
prompts; the target cuts it into consecutive ``batch_size`` chunks (the batches a local run
would form, so seeded runs give the same generations), sends them to the replicas in parallel
and returns the generations in order. Each replica computes with the CPU threads the driver
resolved (recorded in the run), so its float sums equal a local run's. The model figures the
driver's detectors need (membership scores, (n, p)) are computed by replica 0 with its model
copy, in the batches a local run would use. The driver alone writes the run store, so resuming
works exactly as for a local target. A replica that dies raises ``TargetError`` (the finished
batches are stored; rerunning the command resumes).

``vllm:`` targets go through Ray Data's LLM processor instead (``ray.data.llm``, GPUs only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from regurgitate.errors import TargetError, optional_import
from regurgitate.executors.ray_support import import_ray, unwrap
from regurgitate.targets.base import Target
from regurgitate.targets.profile import TargetProfile
from regurgitate.types import Generation, Prompt

if TYPE_CHECKING:
    from regurgitate.runtimes.sampling import ExtractionProbability, Sampling
    from regurgitate.runtimes.scoring import Scorer, SuffixScorer, TokenScores


class GenerationReplica:
    """One model copy (becomes a Ray actor): builds the target from its spec where it runs,
    computing with the ``threads`` the driver resolved (the same float sums as a local run).
    It also scores with its model for the driver's detectors (membership, (n, p))."""

    def __init__(self, spec: str, threads: int | None = None) -> None:
        from regurgitate.runtimes.devices import pin_threads
        from regurgitate.targets.spec import make_target

        pin_threads(threads)
        self.target = make_target(spec)
        self._scorer: Any = None
        self._suffix: Any = None

    def describe(self) -> dict[str, Any]:
        t = self.target
        return {"chat": t.chat, "batch_size": t.batch_size, "profile": t.profile().as_dict(),
                "runtime": t.runtime(), "scorer": t.scorer() is not None,
                "suffix_scorer": t.suffix_scorer() is not None}

    def generate(self, prompts: list[Prompt]) -> list[Generation]:
        return self.target.generate(prompts)

    def tokenizer_definition(self) -> str | None:
        return self.target.tokenizer_definition()

    def score(self, texts: list[str]) -> list[Any]:
        if self._scorer is None:
            self._scorer = self.target.scorer()
        return list(self._scorer.score(texts))

    def plain_ids(self, text: str) -> list[int]:
        if self._scorer is None:
            self._scorer = self.target.scorer()
        return list(self._scorer.plain_ids(text))

    def prompt_texts(self, prompts: list[Prompt]) -> list[str]:
        if self._suffix is None:
            self._suffix = self.target.suffix_scorer()
        return [self._suffix.prompt_text(p) for p in prompts]

    def suffix_logprobs(self, pairs: list[tuple[str, str]], sampling: Any) -> list[Any]:
        if self._suffix is None:
            self._suffix = self.target.suffix_scorer()
        return list(self._suffix.suffix_logprobs(pairs, sampling))


class _RemoteModel:
    """Calls one replica's scoring methods and turns Ray's errors into ours."""

    def __init__(self, ray: Any, actor: Any, name: str) -> None:
        self._ray, self._actor, self._name = ray, actor, name

    def call(self, method: str, *args: Any) -> Any:
        ray = self._ray
        try:
            return ray.get(getattr(self._actor, method).remote(*args))
        except ray.exceptions.RayError as exc:
            err = unwrap(exc)
            if not isinstance(err, ray.exceptions.RayError):
                raise err from None
            raise TargetError(f"a replica of {self._name} failed while scoring: "
                              f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                              ) from None


class RemoteScorer:
    """The membership detector's :class:`~regurgitate.runtimes.scoring.Scorer`, run by a
    replica with its model copy."""

    def __init__(self, remote: _RemoteModel) -> None:
        self._remote = remote

    def score(self, texts: Sequence[str]) -> list[TokenScores]:
        return list(self._remote.call("score", list(texts)))

    def plain_ids(self, text: str) -> list[int]:
        """``text``'s token ids under the replica's tokenizer (no special tokens)."""
        return list(self._remote.call("plain_ids", text))


class RemoteSuffixScorer:
    """The discoverable detector's (n, p) scorer, run by a replica with its model copy."""

    def __init__(self, remote: _RemoteModel) -> None:
        self._remote = remote

    def prompt_text(self, prompt: Any) -> str:
        return str(self._remote.call("prompt_texts", [prompt])[0])

    def suffix_logprobs(self, pairs: Sequence[tuple[str, str]],
                        sampling: Sampling) -> list[ExtractionProbability]:
        return list(self._remote.call("suffix_logprobs", list(pairs), sampling))


class RayGenerationTarget(Target):
    """``replicas`` copies of the target ``spec`` as Ray actors, each computing with
    ``threads`` CPU threads (None: the cluster's default for an actor). The replicas must
    resolve the same :class:`~regurgitate.targets.profile.TargetProfile` (a model copy that
    differs, e.g. another tokenizer on another node, is a TargetError)."""

    def __init__(self, spec: str, *, replicas: int = 1, num_cpus: float = 1.0,
                 num_gpus: float = 0.0, threads: int | None = None) -> None:
        from regurgitate.targets.spec import parse_spec

        if replicas < 1:
            raise TargetError("--replicas must be >= 1")
        ray = import_ray()
        self._ray = ray
        self.name = parse_spec(spec).name
        actor = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus)(GenerationReplica)
        self._actors = [actor.remote(spec, threads) for _ in range(replicas)]
        try:
            infos = ray.get([a.describe.remote() for a in self._actors])
        except ray.exceptions.RayError as exc:
            self.close()
            err = unwrap(exc)
            raise (err if not isinstance(err, ray.exceptions.RayError) else TargetError(
                f"a generation replica of {self.name} failed to start: {exc}")) from None
        info = infos[0]
        for k, other in enumerate(infos[1:], start=1):
            if other["profile"] != info["profile"]:
                self.close()
                raise TargetError(f"replica {k} of {self.name} loaded a different model or "
                                  f"tokenizer than replica 0 ({other['profile']} vs "
                                  f"{info['profile']})",
                                  hint="give every node the same model files")
        self.chat = bool(info["chat"])
        self.replica_batch = int(info["batch_size"])
        self.batch_size = self.replica_batch * replicas
        self.replicas = replicas
        self._profile = TargetProfile.from_dict(info["profile"]) or TargetProfile()
        self._runtime = dict(info["runtime"])
        self._remote = _RemoteModel(ray, self._actors[0], self.name)
        self._has_scorer = bool(info["scorer"])
        self._has_suffix_scorer = bool(info["suffix_scorer"])

    def profile(self) -> TargetProfile:
        return self._profile

    def tokenizer_definition(self) -> str | None:
        """Replica 0's (every replica resolved the same profile, tokenizer included)."""
        text = self._remote.call("tokenizer_definition")
        return str(text) if text is not None else None

    def runtime(self) -> dict[str, str]:
        return self._runtime

    def scorer(self) -> Scorer | None:
        return RemoteScorer(self._remote) if self._has_scorer else None

    def suffix_scorer(self) -> SuffixScorer | None:
        return RemoteSuffixScorer(self._remote) if self._has_suffix_scorer else None

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


def make_ray_target(spec: str, *, replicas: int = 1, threads: int | None = None) -> Target:
    from regurgitate.targets.spec import parse_spec

    if parse_spec(spec).scheme == "vllm":
        return RayVLLMTarget(spec, replicas=replicas)
    return RayGenerationTarget(spec, replicas=replicas, threads=threads)
