"""Small helpers shared by the CLI commands (consoles, progress bars, parsing)."""

from __future__ import annotations

import re
import shlex
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Annotated, Any, cast

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from regurgitate.errors import EXIT_TERMINATED, ConfigError, TargetError
from regurgitate.scan.budget import BUDGET_HELP
from regurgitate.untrusted import visible


class _Tolerant:
    """A stream whose writes never raise: a closed terminal or pipe (``scan ... | head``, a
    parent that went away) must not turn a clean stop into a crash that loses the batch in
    flight. Output is dropped once the stream is broken."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except (OSError, ValueError):
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self.broken = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def stdout_console() -> Console:
    return Console(file=cast(IO[str], _Tolerant(sys.stdout)), highlight=False, soft_wrap=False)


def stderr_console(*, quiet: bool = False) -> Console:
    """Standard error; ``quiet`` (``--quiet``) for progress and notes, which then print
    nothing, so that only the result is printed."""
    return Console(file=cast(IO[str], _Tolerant(sys.stderr)), highlight=False, quiet=quiet)


#: ``--quiet`` of the commands that print a result (scan, check, index build, dedup)
QUIET_OPT = typer.Option("--quiet", "-q", help="print the result only (no progress or notes)")

#: the budget options of every command that generates (scan, audit), declared once
MaxGenerations = Annotated[int | None, typer.Option(
    help=f"stop after N generations ({BUDGET_HELP})")]
MaxTokens = Annotated[int | None, typer.Option(
    help=f"stop after N generated tokens ({BUDGET_HELP})")]
MaxCost = Annotated[float | None, typer.Option(help=f"stop at this cost ({BUDGET_HELP})")]
PricePer1k = Annotated[float | None, typer.Option(
    help="price of 1,000 tokens, for --max-cost")]


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)?\s*$", re.I)


def parse_size(text: str) -> int:
    """'512MB', '2G', '1.5GiB', '1000000' -> bytes (powers of 1024)."""
    m = _SIZE.match(text)
    if not m:
        raise ConfigError(f"cannot read size '{text}'", hint="use e.g. 512MB or 2GB")
    mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * mult)


def parse_options(pairs: list[str]) -> dict[str, dict[str, str]]:
    """['discoverable.prefix_tokens=32', ...] -> {'discoverable': {'prefix_tokens': '32'}}."""
    out: dict[str, dict[str, str]] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        comp, dot, opt = key.partition(".")
        if not eq or not dot or not comp or not opt:
            raise ConfigError(f"cannot read option '{pair}'",
                              hint="use COMPONENT.OPTION=VALUE, e.g. discoverable.num_prompts=20")
        out.setdefault(comp.strip(), {})[opt.strip()] = value.strip()
    return out


class CountingProgress:
    """A rich progress line for work of unknown size (documents, tokens, rate)."""

    def __init__(self, console: Console, what: str, unit: str, *, items: str = "docs") -> None:
        self._unit = unit
        self._items = items
        self._t0 = time.monotonic()
        self._bar = Progress(
            SpinnerColumn(), TextColumn("[bold]" + what), TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(), console=console, transient=False,
            disable=not console.is_terminal,  # a log or pipe gets no spinner frames
        )
        self._task = self._bar.add_task(what, total=None, info="")

    def __enter__(self) -> CountingProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def __call__(self, items: int, units: int) -> None:
        rate = units / max(time.monotonic() - self._t0, 1e-9)
        if self._items == self._unit:  # counting one thing: "1,200 images (40/s)"
            info = f"{units:,} {self._unit}  ({rate:,.0f}/s)"
        else:
            info = f"{items:,} {self._items}  {units:,} {self._unit}  ({rate:,.0f} {self._unit}/s)"
        self._bar.update(self._task, info=info)


class ScanBar:
    """Progress of a scan: generations/s, tokens/s, ETA, memorized spans so far (for an
    image scan, ``images=True``: images/s and ETA; its copies are found after generation)."""

    def __init__(self, console: Console, *, images: bool = False) -> None:
        self._images = images
        self._t0 = time.monotonic()
        self._tokens = 0
        self._gens = 0
        self._spans = 0
        self._bar = Progress(
            SpinnerColumn(), TextColumn("[bold]scanning"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rates]}"), TextColumn("[magenta]{task.fields[spans]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console, transient=False,
            disable=not console.is_terminal,  # a log or pipe gets no spinner frames
        )
        self._task = self._bar.add_task("scan", total=None, rates="", spans="")
        self._console = console

    def __enter__(self) -> ScanBar:
        return self  # drawn from the first start(): set-up errors print on a clean line

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def start(self, total: int, done: int) -> None:
        self._bar.start()
        self._bar.update(self._task, total=total, completed=done)

    def advance(self, generations: int, tokens: int, spans: int) -> None:
        self._gens += generations
        self._tokens += tokens
        self._spans += spans
        dt = max(time.monotonic() - self._t0, 1e-9)
        if self._images:
            self._bar.update(self._task, advance=generations,
                             rates=f"{self._gens / dt:.1f} images/s")
            return
        self._bar.update(
            self._task, advance=generations,
            rates=f"{self._gens / dt:.1f} gen/s {self._tokens / dt:,.0f} tok/s",
            spans=f"{self._spans} memorized spans",
        )

    def note(self, message: str) -> None:
        self._bar.console.print(message)


class StopSignals:
    """Ctrl-C (SIGINT) and SIGTERM both ask a scan to stop after the batch in flight; a
    second one aborts that batch (KeyboardInterrupt). ``signal`` names the first one."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self.stop = threading.Event()
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.stop.is_set():  # a second signal: give up on the batch in flight
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        self.signal = signum
        self.stop.set()
        what = "terminated (SIGTERM)" if signum == signal.SIGTERM else "Ctrl-C"
        again = "signal again" if signum == signal.SIGTERM else "Ctrl-C again"
        self._console.print(f"[yellow]{what}: stopping after the current batch "
                            f"({again} to abort it)...[/]")

    @property
    def exit_code(self) -> int:
        return EXIT_TERMINATED if self.signal == signal.SIGTERM else 130

    def __enter__(self) -> StopSignals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


_BUDGET_OPTIONS = ("--max-generations", "--max-tokens", "--max-cost")


def raised_budget_command(command: str) -> str:
    """``command`` with every budget option doubled: budgets count the whole run, so
    repeating the same ``--max-generations N`` after it was reached makes no progress;
    twice N gives the next N."""
    words = shlex.split(command)
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, value = word.partition("=")
        if name in _BUDGET_OPTIONS and (eq or i + 1 < len(words)):
            if not eq:
                value = words[i + 1]
                i += 1
            out.append(f"{name}={_double(value)}" if eq else name)
            if not eq:
                out.append(_double(value))
        else:
            out.append(word)
        i += 1
    return shlex.join(out)


def _double(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    doubled = number * 2
    return str(int(doubled)) if doubled == int(doubled) and "." not in value else f"{doubled:g}"


def highlighted(text: str, ranges: list[tuple[int, int]], style: str) -> Text:
    """Untrusted ``text`` for the terminal, ``ranges`` (character offsets into it) styled,
    control characters shown as escapes (offsets are applied before escaping)."""
    cuts = sorted({0, len(text), *(max(0, min(len(text), p)) for r in ranges for p in r)})
    out = Text()
    for a, b in zip(cuts, cuts[1:], strict=False):
        inside = any(s <= a and b <= e for s, e in ranges)
        out.append(visible(text[a:b], keep_newlines=True), style=style if inside else None)
    return out


#: the two options of every command that opens an index
TOKENIZER_OPT = typer.Option(
    help="tokenizer of an index built by infini-gram's own indexer (ours record theirs)")
DTYPE_OPT = typer.Option(help="u8, u16 or u32, for an infini-gram index without a manifest")


def quiet_libraries() -> None:
    """transformers' own progress bars and length warnings would tear the scan's progress
    display; the command reports what matters itself."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


@contextmanager
def finished_work_kept(store: Any, err: Console, signals: StopSignals, *, run_name: str,
                       resume_cmd: str, what: str = "generations") -> Iterator[None]:
    """Around a run's stage loop: a second Ctrl-C marks the run stopped and exits with the
    signal's code, a target that failed for good marks it incomplete; both say how to resume
    (``run_name`` is already escaped for the console)."""
    from rich.markup import escape

    try:
        yield
    except KeyboardInterrupt:
        store.set_meta("status", "stopped")
        err.print(f"[yellow]interrupted.[/] Finished {what} are saved in {run_name}; "
                  f"resume with:\n  {escape(resume_cmd)}", soft_wrap=True)
        raise typer.Exit(signals.exit_code) from None
    except TargetError as exc:
        store.set_meta("status", "incomplete")
        exc.hint = (exc.hint + "; " if exc.hint else "") + \
            f"finished work is saved, resume with: {resume_cmd}"
        raise
