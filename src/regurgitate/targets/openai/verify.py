"""Controls verified, not assumed: short probes that show whether an endpoint applies a control.

A server that drops fields it does not know (llama-cpp-python drops ``repetition_penalty``
without a word) answers exactly as one that honours them. So before the first requests that
set a control on purpose, the target sends a fixed probe twice, greedy and short: once as is
and once with the control set strongly, and the control counts as **honoured** only when the
answers differ as the control says they must:

- a penalty (``repetition_penalty``, ``frequency_penalty``, ``presence_penalty``): the greedy
  output of a repetitive prompt changes;
- ``min_tokens`` / ``logit_bias`` against end-of-text: an answer that stopped early runs
  longer (tried in the prompt's mode, then as a completion; when no probe answer stops
  early, the control stays unverified);
- ``seed``: the same seed repeats a sample and another seed changes it (``temperature`` is
  honoured when the samples differ from each other or from the greedy answer);
- ``top_k`` 1 / a tiny ``top_p``: a sample equals the greedy answer while an unrestricted one
  with the same seed does not.

Log-probs are shown by the answers themselves (see :class:`.notes.EndpointNotes`). A control
whose probe shows no effect stays **unverified**; one the endpoint names in an error is
**refused**. Each control is probed once per target; probes are a few requests of 48 tokens.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx

from regurgitate.targets.openai import wire
from regurgitate.targets.openai.negotiation import refused_fields
from regurgitate.targets.openai.notes import HONOURED, UNVERIFIED
from regurgitate.targets.settings import is_greedy, wants_chat
from regurgitate.types import GenerationSettings, Prompt

if TYPE_CHECKING:
    from regurgitate.targets.openai.target import OpenAITarget

log = logging.getLogger(__name__)

PROBE_TEXT = "the the the the the the the the the the the the"
PROBE_TOKENS = 48
#: a request the bundled chat model (and models trained on similar requests) answers by
#: stopping early, so that min_tokens / logit_bias against end-of-text can show an effect
EOS_PROBE_TEXT = 'Repeat "book"'
#: strong values that must change a greedy answer to a repetitive prompt
_STRONG = {"repetition_penalty": 3.0, "frequency_penalty": 2.0, "presence_penalty": 2.0}
_SEEDS = (1234, 4321)


def controls_used(settings: GenerationSettings, body: dict[str, Any]) -> list[str]:
    """The controls a request sets on purpose (not the neutral values every request has)."""
    s = settings
    used = []
    if s.repetition_penalty != 1.0:
        used.append("repetition_penalty")
    if s.frequency_penalty:
        used.append("frequency_penalty")
    if s.presence_penalty:
        used.append("presence_penalty")
    if s.min_new_tokens and "min_tokens" in body:
        used.append("min_tokens")
    if s.min_new_tokens and "logit_bias" in body:
        used.append("logit_bias")
    if not is_greedy(s):
        used.append("temperature")
        if s.seed is not None and "seed" in body:
            used.append("seed")
        if s.top_k and "top_k" in body:
            used.append("top_k")
        if s.top_p < 1.0 and "top_p" in body:
            used.append("top_p")
    return used


class Prober:
    """Probes each control once per target; records the outcome in the target's notes."""

    def __init__(self, target: OpenAITarget) -> None:
        self._target = target
        self._lock = threading.Lock()
        self._done: set[str] = set()
        self._answers: dict[tuple[bool, str], dict[str, Any] | None] = {}

    def verify(self, prompts: Sequence[Prompt]) -> None:
        wanted: dict[str, bool] = {}  # control -> chat
        for p in prompts:
            chat = wants_chat(p, self._target.chat)
            body = self._target.shape(
                {**wire.settings_fields(p.settings, chat=chat), "max_tokens": 1}, chat)
            if p.settings.min_new_tokens:
                body["min_tokens" if self._eos_by_min_tokens() else "logit_bias"] = 1
            for control in controls_used(p.settings, body):
                wanted.setdefault(control, chat)
        with self._lock:
            todo = {c: chat for c, chat in wanted.items() if c not in self._done}
            self._done.update(todo)
        for control, chat in todo.items():
            try:
                self._probe(control, chat)
                if control == "min_tokens" and self._target.notes.is_refused("min_tokens") \
                        and self._target.end_of_text_ids():
                    # the requests will carry ignore_eos as logit_bias instead: probe that
                    with self._lock:
                        fresh = "logit_bias" not in self._done
                        self._done.add("logit_bias")
                    if fresh:
                        self._probe("logit_bias", chat)
            except (httpx.HTTPError, ValueError) as exc:
                log.info("probe of %s failed: %s", control, exc)

    def _eos_by_min_tokens(self) -> bool:
        t = self._target
        return t.extensions and not t.notes.is_refused("min_tokens")

    # -- probes ---------------------------------------------------------------------------
    def _probe(self, control: str, chat: bool) -> None:
        notes = self._target.notes
        greedy = self._ask(chat, "greedy", {})
        if greedy is None:
            return
        if control in _STRONG:
            other = self._ask(chat, control, {control: _STRONG[control]})
            if other is not None:
                self._settle(control, other["text"] != greedy["text"],
                             f"a greedy probe changed with {control} {_STRONG[control]:g}",
                             f"a greedy probe did not change with {control} "
                             f"{_STRONG[control]:g}")
        elif control in ("min_tokens", "logit_bias"):
            self._probe_eos(control, chat)
        elif control in ("seed", "temperature"):
            a = self._ask(chat, "seed-a", {"temperature": 1.0, "seed": _SEEDS[0]})
            again = self._ask(chat, "seed-a-again", {"temperature": 1.0, "seed": _SEEDS[0]})
            b = self._ask(chat, "seed-b", {"temperature": 1.0, "seed": _SEEDS[1]})
            if a is None or again is None or b is None:
                return
            samples_differ = a["text"] != b["text"] or a["text"] != greedy["text"]
            if control == "temperature" or "temperature" in self._done:
                self._settle("temperature", samples_differ,
                             "samples at temperature 1 differ", "samples at temperature 1 "
                             "came back identical to each other and to the greedy answer")
            if control == "seed" or "seed" in self._done:
                self._settle("seed", a["text"] == again["text"] and a["text"] != b["text"],
                             "a seed repeated its sample and another seed changed it",
                             "a seed did not both repeat its sample and differ from another")
        elif control in ("top_k", "top_p"):
            value: dict[str, Any] = {"top_k": 1} if control == "top_k" else {"top_p": 1e-6}
            free = self._ask(chat, "seed-a", {"temperature": 1.0, "seed": _SEEDS[0]})
            tight = self._ask(chat, control, {"temperature": 1.0, "seed": _SEEDS[0], **value})
            if free is None or tight is None:
                return
            if free["text"] == greedy["text"]:
                notes.settle(control, UNVERIFIED, "an unrestricted sample equalled the greedy "
                             "answer, so the probe cannot tell")
                return
            self._settle(control, tight["text"] == greedy["text"],
                         f"{control} {next(iter(value.values())):g} turned a sample greedy",
                         f"{control} {next(iter(value.values())):g} did not turn a sample "
                         "greedy")

    def _probe_eos(self, control: str, chat: bool) -> None:
        """An answer that stops early must run longer with the control (tried in the
        prompt's mode, then as a completion)."""
        for mode in dict.fromkeys((chat, False)):
            base = self._ask(mode, "eos", {}, text=EOS_PROBE_TEXT)
            done = None if base is None else base.get("completion_tokens")
            if base is None or base.get("finish_reason") != "stop" or not isinstance(done, int) \
                    or done + 8 > PROBE_TOKENS:
                continue
            need = done + 8
            if control == "min_tokens":
                extra: dict[str, Any] = {"min_tokens": need, "max_tokens": need}
            else:
                eot = self._target.end_of_text_ids()
                if not eot:
                    return
                extra = {"logit_bias": {str(i): -100.0 for i in eot}, "max_tokens": need}
            longer = self._ask(mode, control, extra, text=EOS_PROBE_TEXT)
            if longer is None:
                return
            ran = longer.get("completion_tokens")
            self._settle(control, isinstance(ran, int) and ran >= need,
                         f"an answer that stopped after {done} tokens ran to {ran}",
                         f"an answer that stopped after {done} tokens still stopped at {ran}")
            return
        self._target.notes.settle(control, UNVERIFIED, "no probe answer stopped early, so "
                                  "the effect could not be seen")

    def _settle(self, control: str, shown: bool, yes: str, no: str) -> None:
        if self._target.notes.is_refused(control):
            return
        self._target.notes.settle(control, HONOURED if shown else UNVERIFIED,
                                  yes if shown else no)

    def _ask(self, chat: bool, key: str, extra: dict[str, Any],
             text: str = PROBE_TEXT) -> dict[str, Any] | None:
        """One probe answer (cached per mode and key); None when it failed or a field of
        ``extra`` was refused (then recorded as refused)."""
        with self._lock:
            if (chat, key) in self._answers:
                return self._answers[(chat, key)]
        t = self._target
        body: dict[str, Any] = {"model": t.model_name, "max_tokens": PROBE_TOKENS,
                                "temperature": 0.0}
        body.update({"messages": [{"role": "user", "content": text}]} if chat
                    else {"prompt": text})
        body.update(extra)
        body = t.shape(body, chat)
        for name in list(extra):
            if t.notes.is_refused(name) and name not in body:
                return None
        answer = None
        path = "/chat/completions" if chat else "/completions"
        for _ in range(3):  # a refusal drops the field named and asks again
            response = t.post(path, body)
            if response.status_code == 200:
                answer = wire.parse_response(wire.decode_json(response.content), chat)
                break
            message = t.error_text(response)
            refused = refused_fields(body, message)
            if not refused:
                log.info("probe %s: HTTP %d %s", key, response.status_code, message[:120])
                break
            for name in refused:
                t.notes.refuse(name)
                del body[name]
            if any(n in extra for n in refused):
                break
        with self._lock:
            self._answers[(chat, key)] = answer
        return answer
