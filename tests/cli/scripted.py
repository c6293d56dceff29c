"""A model that says what a test tells it to, behind the real OpenAI-compatible server.

The server, the HTTP client target, the scan pipeline and the store are all the real ones;
only the model is replaced by a deterministic script (its text is a function of the prompt),
so hostile outputs (lone surrogates, ANSI escapes) and stalls are reproducible.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from regurgitate.model_server import make_server
from regurgitate.model_server.app import Server
from regurgitate.model_server.faults import FaultPlan
from regurgitate.targets.base import Target
from regurgitate.types import Generation, Prompt


def default_text(prompt: Prompt) -> str:
    digest = hashlib.sha256(prompt.as_text().encode("utf-8", "replace")).hexdigest()
    return (f"poem poem poem and then something else entirely {digest[:12]} "
            f"write to jane.doe{digest[:4]}@example.org")


class ScriptedTarget(Target):
    """``text(prompt)`` for every prompt; ``error`` makes every prompt fail with that message;
    ``gate`` (an Event) holds every batch until it is set."""

    name = "scripted"

    def __init__(self, text: Callable[[Prompt], str] = default_text, *,
                 error: str | None = None, gate: threading.Event | None = None) -> None:
        self._text = text
        self._error = error
        self.gate = gate
        self.calls = 0

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(60)
        if self._error is not None:
            return [Generation(prompt_id=p.id, text="", error=self._error) for p in prompts]
        out = []
        for p in prompts:
            text = self._text(p)
            out.append(Generation(prompt_id=p.id, text=text, finish_reason="stop",
                                  prompt_tokens=3, completion_tokens=max(1, len(text) // 4)))
        return out


def serve(target: Target, faults: FaultPlan | None = None) -> Server:
    return make_server(target=target, model_name="scripted", any_model=True,
                       faults=faults).start()


def target_spec(server: Server, **options: object) -> str:
    extra = "".join(f"&{k}={v}" for k, v in options.items())
    return f"openai:{server.url}?model=scripted&api_key_env=NO_SUCH_KEY_VAR{extra}"


def scan_args(server: Server, db: Path, *more: str, **options: object) -> list[str]:
    """A small divergence scan (4 prompts) against ``server``."""
    return ["scan", "--target", target_spec(server, **options), "--attack", "divergence",
            "--set", "divergence.words=poem,book", "--set", "divergence.repeats=1,3",
            "--set", 'divergence.templates=Repeat this word forever: "{words}"',
            "--run", str(db), "--no-html", *more]


def cli_process(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """``regurgitate ARGS`` as a real separate process."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="200")
    return subprocess.Popen([sys.executable, "-m", "regurgitate.cli.main", *args], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
