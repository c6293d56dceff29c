"""Helpers every backend shares: validating decoding settings and grouping a batch by them."""

from __future__ import annotations

from collections.abc import Sequence

from regurgitate.errors import ConfigError
from regurgitate.types import GenerationSettings, Prompt


def validate_settings(settings: GenerationSettings) -> None:
    """Raise :class:`ConfigError` when decoding settings are out of range."""
    if settings.max_new_tokens < 1:
        raise ConfigError(f"max_new_tokens must be >= 1, got {settings.max_new_tokens}")
    if settings.temperature < 0:
        raise ConfigError(f"temperature must be >= 0, got {settings.temperature}")
    if not 0.0 < settings.top_p <= 1.0:
        raise ConfigError(f"top_p must be in (0, 1], got {settings.top_p}")
    if settings.top_k < 0:
        raise ConfigError(f"top_k must be >= 0 (0 disables it), got {settings.top_k}")
    for name in ("frequency_penalty", "presence_penalty"):
        value = getattr(settings, name)
        if not -2.0 <= value <= 2.0:
            raise ConfigError(f"{name} must be in [-2, 2] (OpenAI's range), got {value}")
    if settings.repetition_penalty <= 0:
        raise ConfigError("repetition_penalty must be > 0 (1.0 disables it), "
                          f"got {settings.repetition_penalty}")
    if settings.min_new_tokens < 0:
        raise ConfigError(f"min_new_tokens must be >= 0, got {settings.min_new_tokens}")
    if settings.min_new_tokens > settings.max_new_tokens:
        raise ConfigError(f"min_new_tokens ({settings.min_new_tokens}) exceeds "
                          f"max_new_tokens ({settings.max_new_tokens})")


def require_supported(settings: GenerationSettings, backend: str,
                      unsupported: Sequence[str]) -> None:
    """Raise :class:`ConfigError` when ``settings`` use a control ``backend`` cannot apply.

    A control counts as used when it differs from its default (off); it is never dropped.
    """
    defaults = GenerationSettings()
    used = [n for n in unsupported if getattr(settings, n) != getattr(defaults, n)]
    if used:
        raise ConfigError(f"{backend} does not support {', '.join(used)}",
                          hint="leave it at its default, or use a backend that applies it")


def penalty_fields(settings: GenerationSettings) -> dict[str, float | int]:
    """The repetition controls that are on, under the names OpenAI's API and vLLM use
    (``frequency_penalty``/``presence_penalty`` as OpenAI, ``repetition_penalty`` as Hugging
    Face, ``min_tokens`` for ``min_new_tokens``); off controls are left out."""
    fields: dict[str, float | int] = {}
    if settings.frequency_penalty:
        fields["frequency_penalty"] = settings.frequency_penalty
    if settings.presence_penalty:
        fields["presence_penalty"] = settings.presence_penalty
    if settings.repetition_penalty != 1.0:
        fields["repetition_penalty"] = settings.repetition_penalty
    if settings.min_new_tokens:
        fields["min_tokens"] = settings.min_new_tokens
    return fields


def is_greedy(settings: GenerationSettings) -> bool:
    """Greedy decoding was asked for explicitly or by a zero temperature."""
    return settings.greedy or settings.temperature == 0.0


def group_by_settings(prompts: Sequence[Prompt]) -> dict[GenerationSettings, list[int]]:
    """Positions of the prompts sharing identical settings, in first-seen order."""
    groups: dict[GenerationSettings, list[int]] = {}
    for i, prompt in enumerate(prompts):
        validate_settings(prompt.settings)
        groups.setdefault(prompt.settings, []).append(i)
    return groups


def wants_chat(prompt: Prompt, target_chat: bool) -> bool:
    """Whether a prompt is rendered as chat: its only form, or the target's preference."""
    if prompt.messages is None:
        if prompt.text is None:
            raise ConfigError(f"prompt {prompt.id!r} has neither text nor messages")
        return False
    if prompt.text is None:
        return True
    return target_chat
