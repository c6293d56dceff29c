"""`regurgitate scan`: run (or resume) attacks against a target and write the verdicts."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from regurgitate.cli.common import ScanBar, parse_options, stderr_console, stdout_console
from regurgitate.errors import TargetError


def scan(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Option(
        help="reference | hf:PATH_OR_ID | openai:URL?model=NAME | vllm:MODEL "
             "(default: the bundled reference model)")] = None,
    attack: Annotated[str | None, typer.Option(
        help="comma-separated attacks: divergence, corpus-prompts, discoverable, sample-rank")
    ] = None,
    index: Annotated[Path | None, typer.Option(
        help="reference-corpus index (default with the reference target: the bundled corpus, "
             "indexed and cached on first use)")] = None,
    run: Annotated[Path | None, typer.Option(
        help="run database; the same command on the same file resumes")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="component option, e.g. discoverable.num_prompts=20 (repeatable)")] = None,
    min_tokens: Annotated[int, typer.Option(help="verbatim threshold in tokens")] = 50,
    max_docs: Annotated[int, typer.Option(help="source documents kept per span")] = 10,
    seed: Annotated[int, typer.Option(help="seed for prompt sampling and decoding")] = 0,
    batch_size: Annotated[int | None, typer.Option(help="prompts per target call")] = None,
    max_generations: Annotated[int | None, typer.Option(help="stop after N generations")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="stop after N tokens")] = None,
    max_cost: Annotated[float | None, typer.Option(help="stop at this cost")] = None,
    price_per_1k_tokens: Annotated[float | None, typer.Option(
        help="price of 1,000 tokens, for --max-cost")] = None,
    html: Annotated[Path | None, typer.Option(help="write the HTML report here")] = None,
    no_html: Annotated[bool, typer.Option("--no-html", help="do not write an HTML report")
                       ] = False,
) -> None:
    """Run attacks against a model, find memorized text, store and report it.

    With no arguments: the bundled reference model and corpus, default attacks, a run in
    ./regurgitate-out/ and an HTML report next to it.
    """
    from regurgitate.cli.report_cmd import write_outputs
    from regurgitate.run import Budget, run_scan
    from regurgitate.scan_setup import ScanRequest, prepare_scan
    from regurgitate.store import RunStore

    out = stdout_console()
    err = stderr_console()
    _quiet_libraries()
    request = ScanRequest(
        target=target, attacks=attack, index=index, run=run,
        options=parse_options(set_ or []), min_tokens=min_tokens, max_docs=max_docs,
        seed=seed, html=html, write_html=not no_html,
        command=tuple((ctx.obj or {}).get("argv") or ("scan",)),
    )
    budget = Budget(max_generations=max_generations, max_tokens=max_tokens,
                    max_cost=max_cost, price_per_1k_tokens=price_per_1k_tokens)
    prepared = prepare_scan(request, note=lambda m: err.print(escape(m)))
    stop = threading.Event()

    def on_sigint(signum: int, frame: object) -> None:
        if stop.is_set():  # second Ctrl-C: give up on the batch in flight
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        stop.set()
        err.print("[yellow]stopping after the current batch (Ctrl-C again to abort it)...[/]")

    previous = signal.signal(signal.SIGINT, on_sigint)
    resume_cmd = prepared.resume_command
    try:
        with RunStore.open(prepared.run_path) as store, prepared.target as tgt:
            try:
                with ScanBar(err) as bar:
                    outcome = run_scan(
                        store=store, spec=prepared.spec, target=tgt, attacks=prepared.attacks,
                        detectors=prepared.detectors, index=prepared.index,
                        seed=seed, batch_size=batch_size, budget=budget, progress=bar,
                        should_stop=stop.is_set,
                    )
            except KeyboardInterrupt:
                err.print(f"[yellow]interrupted.[/] Finished generations are saved in "
                          f"{escape(str(prepared.run_path))}; resume with:\n  {resume_cmd}")
                raise typer.Exit(130) from None
            except TargetError as exc:
                exc.hint = (exc.hint + "; " if exc.hint else "") + \
                    f"finished work is saved, resume with: {resume_cmd}"
                raise
            paths = write_outputs(store, out, html=prepared.html_path)
    finally:
        signal.signal(signal.SIGINT, previous)
    if outcome.generated == 0 and outcome.failed == 0 and not outcome.stopped:
        err.print(f"[dim]{escape(str(prepared.run_path))} was already complete; this is its "
                  "stored summary (use another --run, or delete the file, for a fresh run)[/]")
    if outcome.failed:
        err.print(f"[yellow]{outcome.failed} generation(s) failed[/] (first: "
                  f"{escape(outcome.errors[0])}); rerun to retry them:\n  {resume_cmd}")
    if outcome.stopped:
        err.print(f"[yellow]stopped: {escape(outcome.stopped)}.[/] {outcome.pending} prompt(s) "
                  f"left; resume with:\n  {resume_cmd}")
    for p in paths:
        out.print(f"report: {escape(str(p))}")
    out.print(f"run: {escape(str(prepared.run_path))}")
    if outcome.stopped == "interrupted":
        raise typer.Exit(130)


def _quiet_libraries() -> None:
    """transformers' own progress bars and length warnings would tear the scan's progress
    display; the scan reports what matters itself."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
