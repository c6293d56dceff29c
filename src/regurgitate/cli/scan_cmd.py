"""`regurgitate scan`: run (or resume) attacks against a target and write the verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperCommand

from regurgitate.cli.common import (
    QUIET_OPT,
    MaxCost,
    MaxGenerations,
    MaxTokens,
    PricePer1k,
    ScanBar,
    StopSignals,
    finished_work_kept,
    parse_options,
    quiet_libraries,
    raised_budget_command,
    stderr_console,
    stdout_console,
)
from regurgitate.errors import EXIT_INCOMPLETE, ConfigError
from regurgitate.index.open import index_argument
from regurgitate.reports.units import index_unit
from regurgitate.safe_paths import check_output_path
from regurgitate.store.lease import scan_lease
from regurgitate.untrusted import visible


class ScanCommand(TyperCommand):
    """``scan``, whose ``--attack`` help lists the registered attacks by modality (read from
    the registry when the help is shown, so plugins' attacks appear too)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:  # typer's own click types
        from regurgitate.cli.modality import describe_attacks, describe_targets

        for param in self.params:
            if param.name == "attack":
                setattr(param, "help", f"comma-separated attacks ({describe_attacks()})")  # noqa: B010
            if param.name == "target":
                setattr(param, "help", f"SCHEME:LOCATION?OPTION=VALUE, a registered target "  # noqa: B010
                        f"({describe_targets()}; options of one: regurgitate plugins "
                        "--options SCHEME) (default: the bundled reference model)")
        super().format_help(ctx, formatter)


def _complete_target(incomplete: str) -> list[str]:
    """Shell completion of ``--target``: the registered schemes."""
    from regurgitate import registry

    return [f"{name}:" if registry.targets().load(name).needs_location else name
            for name in registry.targets().names() if name.startswith(incomplete)]


def _names(raw: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    if not names:
        raise ConfigError("no detector named", hint="e.g. --detector verbatim,pii")
    return names


def scan(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Option(
        help="SCHEME:LOCATION?OPTION=VALUE (see the schemes in scan --help)",
        autocompletion=_complete_target)] = None,
    attack: Annotated[str | None, typer.Option(
        help="comma-separated attacks (see the list in scan --help)")] = None,
    detector: Annotated[str | None, typer.Option(
        "--detector", help="comma-separated detectors to run, with those they require "
        "(default: every one that applies; see: regurgitate plugins)")] = None,
    no_detector: Annotated[str | None, typer.Option(
        "--no-detector", help="comma-separated detectors to leave out")] = None,
    index: Annotated[str | None, typer.Option(
        help="index of the corpus to search (the training data in question): a directory, "
             "http(s)://HOST:PORT?index=NAME, or `reference` (the bundled corpus's index, for "
             "any target) (default "
             "with the reference target: the bundled corpus, indexed and cached on first use)")
    ] = None,
    run: Annotated[Path | None, typer.Option(
        help="run database; the same command on the same file resumes")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="component option, e.g. discoverable.num_prompts=20 (repeatable)")] = None,
    min_tokens: Annotated[int, typer.Option(
        help="verbatim threshold in the index's units (tokens; bytes for a byte-level index)")
    ] = 50,
    max_docs: Annotated[int, typer.Option(help="source documents kept per span")] = 10,
    seed: Annotated[int, typer.Option(help="seed for prompt sampling and decoding")] = 0,
    batch_size: Annotated[int | None, typer.Option(help="prompts per target call")] = None,
    max_generations: MaxGenerations = None,
    max_tokens: MaxTokens = None,
    max_cost: MaxCost = None,
    price_per_1k_tokens: PricePer1k = None,
    html: Annotated[Path | None, typer.Option(help="write the HTML report here")] = None,
    no_html: Annotated[bool, typer.Option("--no-html", help="do not write an HTML report")
                       ] = False,
    executor: Annotated[str, typer.Option(
        help="where generation runs: local, or ray (replicas on a Ray cluster)")] = "local",
    ray_address: Annotated[str | None, typer.Option(
        help="Ray cluster to join (default: start a local one)")] = None,
    replicas: Annotated[int | None, typer.Option(
        help="model replicas with --executor ray")] = None,
    quiet: Annotated[bool, QUIET_OPT] = False,
) -> None:
    """Run attacks against a model, find memorized text, store and report it.

    With no arguments: the bundled reference model and corpus, default attacks, a run in
    ./regurgitate-out/ and an HTML report next to it.
    """
    from regurgitate.reports.writer import write_outputs
    from regurgitate.scan.budget import Budget
    from regurgitate.scan.pipeline import run_scan
    from regurgitate.scan.request import ScanRequest
    from regurgitate.scan.setup import prepare_scan
    from regurgitate.store import RunStore

    out = stdout_console()
    err = stderr_console()
    notes = stderr_console(quiet=quiet)  # progress and notes; --quiet prints the result only
    quiet_libraries()
    if max_cost is not None and price_per_1k_tokens is None:
        raise ConfigError("--max-cost needs the price per token",
                          hint="add --price-per-1k-tokens PRICE")
    budget = Budget(max_generations=max_generations, max_tokens=max_tokens,
                    max_cost=max_cost, price_per_1k_tokens=price_per_1k_tokens)
    request = ScanRequest(
        target=target, attacks=attack, run=run,
        detectors=_names(detector) if detector is not None else None,
        no_detectors=_names(no_detector) if no_detector is not None else (),
        index=index_argument(index),
        options=parse_options(set_ or []),
        # None when not given: an image scan refuses them, a text scan uses the defaults
        min_tokens=min_tokens if _given(ctx, "min_tokens") else None,
        max_docs=max_docs if _given(ctx, "max_docs") else None,
        seed=seed, html=html, write_html=not no_html, executor=executor,
        ray_address=ray_address, replicas=replicas,
        command=tuple((ctx.obj or {}).get("argv") or ("scan",)), budget=budget,
    )
    prepared = prepare_scan(request, note=lambda m: notes.print(escape(visible(m))))
    if prepared.html_path is not None and prepared.html_path.parent.is_dir():
        # refuse `--html RUN.db` (or a link to it) before any work, not after the scan
        check_output_path(prepared.html_path, protect=[prepared.run_path], what="report")
    if prepared.index is not None and index_unit(prepared.index.info) == "bytes":
        notes.print(f"[yellow]note:[/] the index is byte-level: --min-tokens {min_tokens} means "
                  f"{min_tokens} UTF-8 bytes, and memorized shares count bytes")
    runtime = prepared.target.runtime()
    if runtime:
        from regurgitate.runtimes.devices import describe_runtime

        notes.print(f"model: {escape(visible(prepared.target.name))} on "
                  f"{escape(describe_runtime(runtime))}")
    from regurgitate.scan.pipeline import not_computed

    for figure, why in not_computed(prepared.detectors):
        notes.print(f"[yellow]note:[/] not computed on executor {escape(executor)}: "
                    f"{escape(figure)} ({escape(why)})")
    resume_cmd = prepared.resume_command
    run_name = escape(visible(str(prepared.run_path)))
    with StopSignals(err) as signals, scan_lease(prepared.run_path), \
            RunStore.open(prepared.run_path) as store, prepared.target as tgt:
        with finished_work_kept(store, err, signals, run_name=run_name,
                                resume_cmd=resume_cmd), \
                ScanBar(notes, images=prepared.modality == "image") as bar:
            outcome = run_scan(
                store=store, spec=prepared.spec, target=tgt, attacks=prepared.attacks,
                detectors=prepared.detectors, index=prepared.index,
                image_index=prepared.image_index, seed=seed, batch_size=batch_size,
                budget=budget, progress=bar, should_stop=signals.stop.is_set,
                executor=executor,
            )
        paths = write_outputs(store, out, html=prepared.html_path)
    if outcome.generated == 0 and outcome.failed == 0 and not outcome.stopped:
        notes.print(f"[dim]{run_name} was already complete; this is its "
                  "stored summary (use another --run, or delete the file, for a fresh run)[/]")
    if outcome.failed:
        err.print(f"[yellow]{outcome.failed} generation(s) failed[/] (first: "
                  f"{escape(visible(outcome.errors[0][:300]))}); rerun to retry them:\n"
                  f"  {escape(resume_cmd)}", soft_wrap=True)
    if outcome.stopped:
        again = resume_cmd
        if outcome.stopped != "interrupted":  # a budget: the same one makes no progress
            again = raised_budget_command(resume_cmd)
        err.print(f"[yellow]stopped: {escape(outcome.stopped)}.[/] {outcome.pending} prompt(s) "
                  f"left; resume with:\n  {escape(again)}", soft_wrap=True)
    for p in paths:
        out.print(f"report: {escape(visible(str(p)))}", soft_wrap=True)
    out.print(f"run: {run_name}", soft_wrap=True)  # a path is never wrapped
    if outcome.stopped == "interrupted":
        raise typer.Exit(signals.exit_code)
    if outcome.failed:
        raise typer.Exit(EXIT_INCOMPLETE)


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user gave the option ``name`` (rather than leaving its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")

