"""Typed records that flow between the stages (corpus -> index, attacks -> targets ->
generations -> detectors -> store -> reports). All are frozen dataclasses; JSON-friendly
conversion lives with the store, not here. Findings and their typed payloads live in
:mod:`regurgitate.findings`, their one home (re-exported here only for compatibility)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from regurgitate.findings import Finding, Payload

#: what a target makes and what a component works on
Modality = Literal["text", "image"]
MODALITIES: tuple[Modality, ...] = ("text", "image")

__all__ = ["Document", "Finding", "Generation", "GenerationSettings", "Item", "Payload",
           "Prompt", "RunSpec", "Span", "SpanWindow", "TokenCounter"]


class TokenCounter(Protocol):
    """What counts the tokens of a text (a regurgitate or a Hugging Face tokenizer): ``encode``
    returns the token ids (a list or an array; its ``len`` is the count)."""

    def encode(self, text: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class Document:
    """One corpus document. ``meta`` records where it came from (path, line, ...)."""

    text: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GenerationSettings:
    """Decoding parameters, passed per call (never stored on a target)."""

    max_new_tokens: int = 128
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    greedy: bool = False
    seed: int | None = None
    logprobs: bool = True
    #: OpenAI semantics: logit -= frequency_penalty * count + presence_penalty * (count > 0),
    #: counting the tokens generated so far (range -2..2, 0 = off)
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    #: Hugging Face / CTRL semantics over prompt + output tokens (1.0 = off, > 1 discourages)
    repetition_penalty: float = 1.0
    #: end-of-sequence is suppressed until this many tokens were generated (0 = off)
    min_new_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Prompt:
    """A request an attack wants answered.

    ``id`` is deterministic (attack name + position) so that a resumed run can tell which
    prompts are already done. Either ``text`` (plain completion) or ``messages`` (chat) is set.
    ``meta`` carries attack-specific truth, e.g. the true suffix for discoverable probing
    (``true_suffix_ids``, ``true_suffix``), the repeated word for divergence, a source doc id.
    """

    id: str
    attack: str
    text: str | None
    settings: GenerationSettings
    messages: tuple[dict[str, str], ...] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def as_text(self) -> str:
        """The prompt as one string (chat messages joined), for display and plain targets."""
        if self.text is not None:
            return self.text
        return "\n".join(m.get("content", "") for m in (self.messages or ()))


@dataclass(frozen=True, slots=True)
class Generation:
    """What a target produced for one prompt: the contract between a target and the rest.

    A target's ``generate`` returns exactly one per prompt, in the prompts' order (another
    count stops the scan with a TargetError naming the target; what finished stays stored).
    Who reads each field, and what happens when a target leaves it empty:

    ========================  ============================================  =====================
    field                     read by                                       when empty (None)
    ========================  ============================================  =====================
    ``prompt_id``             the store (which prompt is done; resume)      required: the
                                                                            prompt's ``id``
    ``text``                  every text detector, reports, exports         required ("" on
                                                                            error)
    ``error``                 the pipeline (failed, retried on resume),     the generation
                              reports                                       succeeded
    ``completion_tokens``     budgets (``--max-tokens``, ``--max-cost``),   counted from
                              token figures of the terminal and HTML        ``token_ids``; else
                              reports, exports                              the scan counts the
                                                                            text with the
                                                                            target's
                                                                            ``token_counter()``
                                                                            or the index's
                                                                            tokenizer; else
                                                                            unknown (shown so;
                                                                            budgets on tokens
                                                                            refused)
    ``token_ids``             ``generated_tokens``; membership signals      the text is all
                              aligned with ``logprobs``                     there is
    ``logprobs``              membership signals (loss, min-k%, zlib        the membership
                              ratio) without a second scoring pass          detector scores the
                                                                            text with
                                                                            ``Target.scorer()``
                                                                            or names the
                                                                            signals not computed
    ``dist_mean/dist_var``    min-k%++ without a second pass                as for ``logprobs``
    ``prompt_tokens``         exports, cost figures                         unknown
    ``finish_reason``         reports (cut by the token limit or not),      unknown
                              the discoverable detector
    ``max_tokens``            reports (a remote target's context cut)       the prompt's
                                                                            ``max_new_tokens``
    ``elapsed_s``             throughput figures                            0.0 (not timed)
    ``image``                 image detectors and reports (PNG bytes)       a text generation
    ========================  ============================================  =====================

    Extrapolation (unique memorized sequences against generations) reads the counts of
    generations and of verbatim findings only.
    """

    prompt_id: str
    text: str
    token_ids: tuple[int, ...] | None = None
    logprobs: tuple[float, ...] | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    elapsed_s: float = 0.0
    error: str | None = None
    #: an image target's output, PNG-encoded (stored content-addressed in the run store)
    image: bytes | None = None
    #: per generated token, the mean and variance of log p under the raw next-token
    #: distribution it was drawn from (``sum_z p(z) log p(z)`` and the second moment minus
    #: its square); set by targets that see whole distributions (the HF target), so
    #: min-k%++ needs no second forward pass
    dist_mean: tuple[float, ...] | None = None
    dist_var: tuple[float, ...] | None = None
    #: the max_tokens a remote target actually asked for (below the prompt's
    #: ``max_new_tokens`` where it was cut to fit the model's context window)
    max_tokens: int | None = None
    #: requests sent for this generation (retries and re-sends after a refused field count)
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def tokens_known(self) -> bool:
        """Whether :attr:`generated_tokens` is a count (``completion_tokens`` or ``token_ids``
        set), not an unknown read as 0."""
        return self.completion_tokens is not None or self.token_ids is not None

    @property
    def generated_tokens(self) -> int:
        """Tokens the model generated: ``completion_tokens`` as the backend reported it (or as
        the scan counted it for a text-only target), else the number of ``token_ids``, else 0
        (unknown: check :attr:`tokens_known` before showing it as a figure)."""
        if self.completion_tokens is not None:
            return int(self.completion_tokens)
        return len(self.token_ids) if self.token_ids is not None else 0


@dataclass(frozen=True, slots=True)
class SpanWindow:
    """A span's most repeated window: of all its windows of ``tokens`` tokens (the span
    threshold, ``--min-tokens``), the one occurring most often in the corpus (the first of
    them on a tie).

    ``offset`` is where it starts, in tokens from the span's start; ``count`` its number of
    corpus occurrences (at least the whole span's, since the span contains it) and
    ``documents`` the ids of up to ``max_docs`` documents holding it, ascending, as the span's
    own ``documents`` are given. ``start``/``end``: its character offsets in the checked text
    (None where only tokens are known). A span shorter than ``tokens`` has no window.
    """

    offset: int
    tokens: int
    count: int
    documents: tuple[int, ...] = ()
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """A maximal verbatim span of a text found in the reference corpus.

    ``start``/``end`` are character offsets into the text, ``token_start``/``token_end``
    token positions; ``count`` is the number of corpus occurrences and ``documents`` the ids
    of (up to K) corpus documents of the span's longest exact piece, ``[piece_start,
    piece_end)`` in tokens (the whole span unless overlapping matches were merged).
    ``window``: its most repeated window (:class:`SpanWindow`), None when the span is shorter
    than the window, when windows were not asked for, or when the index cannot count them.
    """

    start: int
    end: int
    token_start: int
    token_end: int
    count: int
    documents: tuple[int, ...]
    piece_start: int | None = None
    piece_end: int | None = None
    window: SpanWindow | None = None

    @property
    def tokens(self) -> int:
        return self.token_end - self.token_start


@dataclass(frozen=True, slots=True)
class Item:
    """A stored generation with its prompt and its row id in the run store: what detectors
    and reports receive."""

    generation_id: int
    prompt: Prompt
    generation: Generation


@dataclass(frozen=True, slots=True)
class RunSpec:
    """What a run is: enough to refuse resuming a different run into the same database.

    ``modality`` is what the target makes (``"text"`` or ``"image"``), stored in the run
    table; reports and ``runs show`` read it."""

    target: str
    attacks: tuple[str, ...]
    index: str | None
    settings: dict[str, Any] = field(default_factory=dict)
    tool_version: str = ""
    modality: Modality = "text"
