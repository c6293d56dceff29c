"""What the OpenAI target learns about an endpoint during a run (thread-safe, one per target),
recorded in the run (meta ``endpoint``) and shown by the reports.

- the server family and the neutral sampling fields sent to it (what was sent, as accepted);
- each control in one of three states: **honoured** (a probe or the responses showed its
  effect), **unverified** (accepted without an error, but no effect seen yet) or **refused**
  (the endpoint named it in an error; dropped for the run), with the attacks that used it;
- log-probs asked for and received; how ``ignore_eos`` was carried out;
- the context window and where it came from, ``max_tokens`` cut by the target to fit it,
  and cuts the server made silently (``finish_reason`` "length" before the ``max_tokens``
  sent);
- whether samples of one prompt drawn with different seeds differ at all (an endpoint that
  ignores ``temperature``/``seed`` makes every sample-based figure meaningless).
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from regurgitate.targets.openai.negotiation import CONTROL_FIELDS

#: shortest answer text the sampling check compares (very short texts may match by chance)
MIN_SAMPLE_CHARS = 20

HONOURED, UNVERIFIED, REFUSED = "honoured", "unverified", "refused"


def sample_key(body: dict[str, Any]) -> str:
    """A request body without its seed: samples of one prompt share it."""
    rest = {k: v for k, v in body.items() if k != "seed"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, default=str).encode()).hexdigest()


class EndpointNotes:
    """Family, neutral fields, control states, end-of-text handling, cuts, sampling check."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.family: str | None = None
        self.family_source: str | None = None
        self.refused: list[str] = []
        #: neutral sampling fields sent (field -> value), refused ones removed
        self.neutral: dict[str, Any] = {}
        #: control -> [state, evidence]
        self._controls: dict[str, list[str]] = {}
        self._attacks: dict[str, set[str]] = {}
        self.eos_handling: str | None = None
        self.context: int | None = None
        self.context_source: str | None = None
        self.cut = 0
        self.cut_min: int | None = None
        self.server_cut = 0
        self.server_cut_min: int | None = None
        self.logprobs_asked = 0
        self.logprobs_received = 0
        self._first: dict[str, tuple[int, str]] = {}
        self.identical = 0
        self.differing = 0

    def set_family(self, name: str, source: str) -> None:
        with self._lock:
            self.family, self.family_source = name, source

    def refuse(self, field: str) -> bool:
        """Mark ``field`` refused; True the first time (the caller says so once)."""
        with self._lock:
            self.neutral.pop(field, None)
            for control, fields in CONTROL_FIELDS.items():
                if field in fields and control in self._controls:
                    self._controls[control] = [REFUSED, f"{field} named in an error answer; "
                                               "dropped"]
            if field in self.refused:
                return False
            self.refused.append(field)
            return True

    def is_refused(self, field: str) -> bool:
        with self._lock:
            return field in self.refused

    def sent_neutral(self, values: dict[str, Any]) -> None:
        with self._lock:
            for k, v in values.items():
                if k not in self.refused:
                    self.neutral[k] = v

    def used(self, control: str, attack: str) -> None:
        """A request set ``control`` on purpose (state unverified until shown otherwise)."""
        with self._lock:
            self._attacks.setdefault(control, set()).add(attack)
            refused = [f for f in CONTROL_FIELDS.get(control, (control,)) if f in self.refused]
            self._controls.setdefault(
                control, [REFUSED, f"{refused[0]} named in an error answer; dropped"]
                if refused else [UNVERIFIED, "accepted; no effect seen yet"])

    def settle(self, control: str, state: str, evidence: str) -> None:
        """Record what a probe or the responses showed (a refusal is never overwritten)."""
        with self._lock:
            current = self._controls.get(control)
            if current is not None and current[0] == REFUSED and state != HONOURED:
                return  # (shown to work under another of its names: evidence wins)
            if current is not None and current[0] == HONOURED and state == UNVERIFIED:
                return
            self._controls[control] = [state, evidence]

    def state(self, control: str) -> str | None:
        with self._lock:
            entry = self._controls.get(control)
            return entry[0] if entry else None

    def logprobs(self, asked: bool, received: bool, attack: str | None = None) -> None:
        if not asked:
            return
        with self._lock:
            if attack is not None:
                self._attacks.setdefault("logprobs", set()).add(attack)
            self.logprobs_asked += 1
            self.logprobs_received += int(received)

    def cut_to(self, max_tokens: int) -> None:
        with self._lock:
            self.cut += 1
            self.cut_min = max_tokens if self.cut_min is None else min(self.cut_min, max_tokens)

    def server_cut_to(self, max_tokens: int) -> None:
        with self._lock:
            self.server_cut += 1
            self.server_cut_min = (max_tokens if self.server_cut_min is None
                                   else min(self.server_cut_min, max_tokens))

    def sample(self, body: dict[str, Any], text: str) -> None:
        """Compare a sampled answer with the first answer to the same body under another seed."""
        seed = body.get("seed")
        if seed is None or not body.get("temperature") or len(text) < MIN_SAMPLE_CHARS:
            return
        key = sample_key(body)
        with self._lock:
            first = self._first.setdefault(key, (int(seed), text))
            if first[0] == seed:
                return
            if first[1] == text:
                self.identical += 1
            else:
                self.differing += 1

    @property
    def not_sampling(self) -> bool:
        return self.identical >= 2 and self.differing == 0

    def as_dict(self) -> dict[str, Any]:
        """What the run records (meta ``endpoint``) and reports show."""
        with self._lock:
            if self.logprobs_asked:
                state = (HONOURED if self.logprobs_received else UNVERIFIED)
                evidence = (f"log-probs came back in {self.logprobs_received} of "
                            f"{self.logprobs_asked} answers")
                if "logprobs" not in self.refused:
                    self._controls["logprobs"] = [state, evidence]
            controls = {
                name: {"state": state, "evidence": evidence,
                       "attacks": sorted(self._attacks.get(name, ()))}
                for name, (state, evidence) in sorted(self._controls.items())}
            out: dict[str, Any] = {
                "controls": controls,
                "honoured": sorted(n for n, c in controls.items() if c["state"] == HONOURED),
                "unverified": sorted(n for n, c in controls.items()
                                     if c["state"] == UNVERIFIED),
                "refused": list(self.refused),
            }
            if self.family:
                out["family"] = self.family
                out["family_source"] = self.family_source
            if self.neutral:
                out["neutral"] = dict(sorted(self.neutral.items()))
            if self.logprobs_asked:
                out["logprobs"] = {"asked": self.logprobs_asked,
                                   "received": self.logprobs_received}
            if self.eos_handling:
                out["ignore_eos"] = self.eos_handling
            if self.context:
                out["context"] = self.context
                out["context_source"] = self.context_source
            if self.cut:
                out["max_tokens_cut"] = {"requests": self.cut, "smallest": self.cut_min}
            if self.server_cut:
                out["server_cut"] = {"requests": self.server_cut,
                                     "smallest": self.server_cut_min}
            if self.identical or self.differing:
                out["sampling"] = {"identical_pairs": self.identical,
                                   "differing_pairs": self.differing,
                                   "not_sampling": self.not_sampling}
            return out
