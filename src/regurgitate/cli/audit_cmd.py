"""`regurgitate audit`: per-work extraction maps of a user's works against a target."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text

from regurgitate.cli.common import (
    QUIET_OPT,
    MaxCost,
    MaxGenerations,
    MaxTokens,
    PricePer1k,
    ScanBar,
    StopSignals,
    finished_work_kept,
    quiet_libraries,
    raised_budget_command,
    stderr_console,
    stdout_console,
)
from regurgitate.errors import EXIT_INCOMPLETE, ConfigError
from regurgitate.index.open import index_argument
from regurgitate.untrusted import visible

if TYPE_CHECKING:
    from rich.console import Console

    from regurgitate.audit.figures import WorkFigures


def audit(
    ctx: typer.Context,
    works: Annotated[Path, typer.Argument(
        help="a text file, a folder of .txt files, or JSONL with id, text and optional "
             "title, chapters, names")],
    target: Annotated[str | None, typer.Option(
        help="reference | hf:PATH_OR_ID | openai:URL?model=NAME | vllm:MODEL "
             "(default: the bundled reference model)")] = None,
    index: Annotated[str | None, typer.Option(
        help="training-corpus index: says whether each extracted window occurs in it "
             "(default with the reference target: the bundled corpus)")] = None,
    run: Annotated[Path | None, typer.Option(
        help="run database; the same command on the same file resumes")] = None,
    tokenizer: Annotated[str | None, typer.Option(
        help="tokenizer windows are cut with (default: the target's own, else the index's)")
    ] = None,
    prefix_tokens: Annotated[int, typer.Option(help="tokens of each window's prefix")] = 50,
    suffix_tokens: Annotated[int, typer.Option(help="tokens of each window's suffix")] = 50,
    stride: Annotated[int, typer.Option(help="tokens between window starts")] = 10,
    samples: Annotated[int | None, typer.Option(
        help="sampled continuations per window: the rate hits/n instead of exact p "
             "(default: 0 for local models, 20 for APIs)")] = None,
    top_k: Annotated[int, typer.Option(help="top-k of the sampling scheme (0: none)")] = 40,
    temperature: Annotated[float, typer.Option(help="temperature of the sampling scheme")
                           ] = 1.0,
    top_p: Annotated[float, typer.Option(help="top-p of the sampling scheme")] = 1.0,
    threshold: Annotated[float, typer.Option(
        help="p at or above which a window counts as extracted")] = 0.5,
    max_windows: Annotated[int | None, typer.Option(help="at most N windows per work")] = None,
    bos: Annotated[str, typer.Option(help="start prompts with the BOS token: auto|yes|no")
                   ] = "auto",
    generate: Annotated[bool, typer.Option(
        "--generate", help="local models: store each window's greedy continuation too")
    ] = False,
    no_windows: Annotated[bool, typer.Option(
        "--no-windows", help="no windows: only --longform, --characters or --outputs")
    ] = False,
    longform: Annotated[int, typer.Option(
        help="chat models: up to N 'continue' turns per work after a seed of its title and "
             "opening sentence, scored by near-verbatim recall (0: off)")] = 0,
    patience: Annotated[int, typer.Option(
        help="--longform stops a work after N turns that add no coverage")] = 2,
    turn_tokens: Annotated[int, typer.Option(
        help="tokens per --longform turn (the seed, the last reply and the next one must fit "
             "the model's context window)")] = 192,
    controls: Annotated[Path | None, typer.Option(
        help="control works the model cannot have seen (a text file, a folder or JSONL, as "
             "WORKS): dataset inference of WORKS against them, with a p-value (local models)"
    )] = None,
    prefix_controls: Annotated[int, typer.Option(
        help="--controls: the first N control works are ReCaLL's prefix, left out of the "
             "test (0: no ReCaLL signal)")] = 2,
    outputs: Annotated[Path | None, typer.Option(
        help="score these outputs by near-verbatim recall (a text file, or JSONL with text "
             "and optional work_id)")] = None,
    min_words: Annotated[int, typer.Option(
        help="near-verbatim recall: words a block must share with the work")] = 20,
    gap_words: Annotated[int, typer.Option(
        help="near-verbatim recall: merge blocks at most N words apart")] = 3,
    characters: Annotated[int, typer.Option(
        help="character copying: N free-form generations per title and per control title "
             "(0: off)")] = 0,
    control_title: Annotated[list[str] | None, typer.Option(
        help="a control title for --characters (repeatable; default: four invented ones)")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed for sampled continuations")] = 0,
    batch_size: Annotated[int | None, typer.Option(help="prompts per target call")] = None,
    max_generations: MaxGenerations = None,
    max_tokens: MaxTokens = None,
    max_cost: MaxCost = None,
    price_per_1k_tokens: PricePer1k = None,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="write {works: [{id, chars, extracted_share, windows: [...]}]} here")
    ] = None,
    html: Annotated[Path | None, typer.Option(help="write the HTML report here")] = None,
    no_html: Annotated[bool, typer.Option("--no-html", help="do not write an HTML report")
                       ] = False,
    maps: Annotated[Path | None, typer.Option(
        help="folder for one PNG map per work")] = None,
    quiet: Annotated[bool, QUIET_OPT] = False,
) -> None:
    """Was my work trained on? Slide windows over each work and measure how much of it the
    model reproduces: one row per work, a map along it, evidence for every extracted window.
    """
    from regurgitate.audit.characters import CONTROL_TITLES
    from regurgitate.audit.figures import rank
    from regurgitate.audit.longform import LongformSettings, run_longform
    from regurgitate.audit.results import (
        attach_characters,
        attach_output_recall,
        attach_recall,
        audit_results,
        load_outputs,
        method_of,
    )
    from regurgitate.audit.runner import AuditRequest, prepare_audit
    from regurgitate.safe_paths import check_output_path
    from regurgitate.scan.budget import Budget
    from regurgitate.scan.pipeline import run_scan
    from regurgitate.store import RunStore
    from regurgitate.store.lease import scan_lease

    out = stdout_console()
    err = stderr_console()
    notes = stderr_console(quiet=quiet)
    if not 0 < threshold <= 1:
        raise ConfigError("--threshold must be within (0, 1]")
    quiet_libraries()
    budget = Budget(max_generations=max_generations, max_tokens=max_tokens,
                    max_cost=max_cost, price_per_1k_tokens=price_per_1k_tokens)
    request = AuditRequest(
        works=works, target=target, run=run, tokenizer=tokenizer,
        index=index_argument(index),
        prefix_tokens=prefix_tokens, suffix_tokens=suffix_tokens, stride=stride,
        samples=samples, temperature=temperature, top_k=top_k, top_p=top_p,
        max_windows=max_windows, bos=bos, generate=generate, seed=seed, budget=budget,
        windows=not no_windows, character_samples=characters,
        control_titles=tuple(control_title or CONTROL_TITLES),
        longform=LongformSettings(max_turns=longform, patience=patience,
                                  max_new_tokens=turn_tokens, min_words=min_words,
                                  gap=gap_words) if longform else None,
        command=tuple((ctx.obj or {}).get("argv") or ("audit", str(works))))
    scored = load_outputs(outputs) if outputs is not None else None
    prepared = prepare_audit(request, note=lambda m: notes.print(escape(visible(m))))
    scan = prepared.scan
    html_path = None if no_html else (html or scan.run_path.with_suffix(".html"))
    for path, what in ((html_path, "report"), (json_out, "JSON")):
        if path is not None and path.parent.is_dir():
            check_output_path(path, protect=[scan.run_path], what=what)
    resume_cmd = scan.resume_command
    run_name = escape(visible(str(scan.run_path)))
    with StopSignals(err) as signals, scan_lease(scan.run_path), \
            RunStore.open(scan.run_path) as store, scan.target as tgt:
        with finished_work_kept(store, err, signals, run_name=run_name,
                                resume_cmd=resume_cmd, what="windows"):
            with ScanBar(notes) as bar:
                outcome = run_scan(
                    store=store, spec=scan.spec, target=tgt, attacks=scan.attacks,
                    detectors=scan.detectors, index=scan.index, seed=seed,
                    batch_size=batch_size, budget=budget, progress=bar,
                    should_stop=signals.stop.is_set)
            long_results = []
            if request.longform is not None and not outcome.stopped:
                long_results = run_longform(store, tgt, prepared.works, request.longform,
                                            budget=budget, seed=seed,
                                            should_stop=signals.stop.is_set)
                stops = {r.stopped for r in long_results}
                outcome.stopped = next((x for x in stops if x == "interrupted" or
                                        x.endswith("reached")), None)
        from regurgitate.attacks.base import AttackContext

        possible = prepared.attack.windows_possible(
            AttackContext(index=scan.index, seed=seed, chat=tgt.chat))
        figs = audit_results(store, prepared.works, threshold=threshold, index=scan.index,
                             possible=possible)
        attach_recall(figs, long_results)
        attach_characters(figs, store)
        if scored is not None:
            attach_output_recall(figs, scored, min_words=min_words, gap=gap_words)
        figs = rank(figs)
        sections: dict[str, Any] = {}
        verdicts: list[str] = []
        if controls is not None:
            from regurgitate.audit.membership import controls_inference

            notes.print("dataset inference: scoring the works and the controls")
            di = controls_inference(tgt, prepared.works, controls, index=scan.index, seed=seed,
                                    prefix_works=prefix_controls)
            sections["dataset_inference"] = di.to_json()
            verdicts.append(di.verdict())
    cut_with = ("the target's tokenizer" if prepared.attack.window_tokenizer is not None
                else f"tokenizer {tokenizer}" if tokenizer else "the index's tokenizer")
    method = method_of(prepared.attack, threshold=threshold, target=scan.target.name,
                       tokenizer=cut_with)
    _write(figs, method, out, json_out=json_out, html=html_path, maps=maps,
           protect=scan.run_path, sections=sections, verdicts=verdicts)
    if outcome.failed:
        err.print(f"[yellow]{outcome.failed} generation(s) failed[/] (first: "
                  f"{escape(visible(outcome.errors[0][:300]))}); rerun to retry them:\n"
                  f"  {escape(resume_cmd)}", soft_wrap=True)
    if outcome.stopped:
        again = resume_cmd if outcome.stopped == "interrupted" else \
            raised_budget_command(resume_cmd)
        err.print(f"[yellow]stopped: {escape(outcome.stopped)}.[/] {outcome.pending} "
                  f"window prompt(s) left; resume with:\n  {escape(again)}", soft_wrap=True)
    out.print(f"run: {run_name}", soft_wrap=True)
    if outcome.stopped == "interrupted":
        raise typer.Exit(signals.exit_code)
    if outcome.failed:
        raise typer.Exit(EXIT_INCOMPLETE)


def _write(figs: list[WorkFigures], method: dict[str, Any], console: Console, *,
           json_out: Path | None, html: Path | None, maps: Path | None,
           protect: Path, sections: dict[str, Any] | None = None,
           verdicts: Sequence[str] = ()) -> None:
    """Terminal table, then the files asked for; ``sections`` are extra top-level objects of
    the JSON (e.g. a ``dataset_inference`` section)."""
    from regurgitate.reports.audit_map import map_png
    from regurgitate.reports.audit_outputs import audit_html, audit_json, print_audit
    from regurgitate.safe_paths import write_atomically, write_text_atomically

    print_audit(figs, method, console)
    for line in verdicts:
        console.print(Text(f"dataset inference: {line}", style="bold"))
    if json_out is not None:
        doc = audit_json(figs, method, sections)
        write_text_atomically(json_out, json.dumps(doc, indent=1) + "\n", protect=[protect],
                              what="JSON")
        console.print(f"json: {escape(visible(str(json_out)))}", soft_wrap=True)
    if html is not None:
        write_text_atomically(html, audit_html(figs, method, verdicts=verdicts),
                              protect=[protect], what="report")
        console.print(f"report: {escape(visible(str(html)))}", soft_wrap=True)
    if maps is not None:
        maps.mkdir(parents=True, exist_ok=True)
        for f in figs:
            name = _map_name(f.work.id)
            write_atomically(maps / name, _png_writer(map_png(f)), protect=[protect],
                             what="map")
        console.print(f"maps: {escape(visible(str(maps)))}", soft_wrap=True)


def _png_writer(png: bytes) -> Callable[[Path], int]:
    return lambda tmp: tmp.write_bytes(png)


def _map_name(work_id: str) -> str:
    """A work's map file: its id made safe, with a short digest of the id (two ids that
    differ only in unsafe characters never share a file)."""
    import hashlib
    import re

    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", work_id).strip("-.")[:60] or "work"
    return f"{slug}-{hashlib.sha256(work_id.encode()).hexdigest()[:6]}.png"
