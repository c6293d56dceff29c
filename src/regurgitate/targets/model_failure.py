"""An exception raised inside a model or pipeline call is a model failure, never a traceback.

A local target (HF, diffusers) runs third-party code it does not control: a tokenizer saved
without ``model_max_length`` raises ``OverflowError`` inside a Stable Diffusion pipeline,
a model may raise anything. :class:`ModelCalls` turns such an exception into failed
generations carrying the model's message, once the target has worked at least once; when
the very first call fails, nothing suggests a later one would work, so it raises
:class:`TargetError` (exit 5) with the same message instead of failing every prompt.
"""

from __future__ import annotations

from regurgitate.errors import RegurgitateError, TargetError


class ModelCalls:
    """Whether a target's model has answered yet, and how a failed call is reported."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.worked = False

    def ok(self) -> None:
        self.worked = True

    def failed(self, exc: BaseException) -> str:
        """The failed generations' error text, or raise TargetError on a first call."""
        if isinstance(exc, RegurgitateError):
            raise exc
        message = f"{type(exc).__name__}: {exc}".strip()
        if not self.worked:
            raise TargetError(f"the model {self.name} failed on its first call: {message}",
                              hint="the message is the model's or pipeline's own; check the "
                              "model folder (e.g. a tokenizer saved without "
                              "model_max_length) or the decoding settings") from exc
        return f"generation failed: {message}"
