"""`regurgitate runs list|show`, `regurgitate report`, `regurgitate export`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from regurgitate.cli.common import stdout_console
from regurgitate.errors import ConfigError
from regurgitate.reports.writer import write_outputs
from regurgitate.untrusted import visible

if TYPE_CHECKING:
    from regurgitate.store import RunStore

runs_app = typer.Typer(no_args_is_help=True, help="List and inspect run databases.")


def _open_existing(path: Path) -> RunStore:
    from regurgitate.store import RunStore

    if not path.is_file():
        raise ConfigError(f"no run database at {path}",
                          hint="list runs with: regurgitate runs list DIR")
    return RunStore.open(path, create=False)


@runs_app.command("list")
def runs_list(
    directory: Annotated[Path, typer.Argument(help="folder holding run databases")] = Path(
        "regurgitate-out"),
) -> None:
    """List the run databases in a folder."""
    from regurgitate.store import list_runs

    if not directory.is_dir():
        raise ConfigError(f"no such folder: {directory} (runs list looked in "
                          f"{directory.absolute()})",
                          hint="scan writes runs to ./regurgitate-out/ in the folder it ran "
                          "in; pass the folder that holds run databases: regurgitate runs "
                          "list DIR")
    runs = list_runs(directory)
    out = stdout_console()
    if not runs:
        out.print(f"no runs in {escape(str(directory))}")
        return
    from regurgitate.reports.polish import timestamp

    if not out.is_terminal:  # a pipe or a file: every column, whole values, tab-separated
        import sys

        sys.stdout.write("run\ttarget\tattacks\tindex\tgenerations\tstatus\tupdated\n")
        for r in runs:
            cells = [str(r.path), r.target, ",".join(r.attacks), r.index or "-",
                     str(r.generations), str(r.status), timestamp(r.updated) if r.updated else ""]
            sys.stdout.write("\t".join(visible(c).replace("\t", " ") for c in cells) + "\n")
        return
    table = Table(title=f"runs in {escape(str(directory))}", title_justify="left",
                  box=box.SIMPLE_HEAD)
    table.add_column("run", no_wrap=True)
    table.add_column("target", overflow="fold", min_width=12)
    table.add_column("attacks", no_wrap=True, min_width=14)
    table.add_column("index", overflow="fold", min_width=10)
    table.add_column("generations", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("updated", no_wrap=True)

    for r in runs:
        updated = timestamp(r.updated) if r.updated else ""
        table.add_row(escape(visible(Path(r.path).name)), escape(visible(r.target)),
                      escape("\n".join(visible(a) for a in r.attacks)),
                      escape(visible(r.index or "–")), str(r.generations),
                      escape(visible(str(r.status))), escape(updated))
    out.print(table, soft_wrap=True)


@runs_app.command("show")
def runs_show(run: Annotated[Path, typer.Argument(help="run database")]) -> None:
    """Show a run's spec, progress and summary."""
    with _open_existing(run) as store:
        spec = store.spec()
        out = stdout_console()
        if spec is not None:
            out.print(f"[bold]target[/] {escape(visible(spec.target))}   [bold]attacks[/] "
                      f"{escape(visible(', '.join(spec.attacks)))}   [bold]index[/] "
                      f"{escape(visible(str(spec.index)))}   [bold]version[/] "
                      f"{escape(visible(spec.tool_version))}")
        stats = dataclasses.asdict(store.stats())
        out.print("  ".join(f"[bold]{escape(str(k))}[/] {escape(str(v))}"
                            for k, v in stats.items() if not isinstance(v, dict)))
        write_outputs(store, out, html=None)


def report(
    run: Annotated[Path, typer.Argument(help="run database")],
    html: Annotated[Path | None, typer.Option(help="write a self-contained HTML report")] = None,
    works: Annotated[Path | None, typer.Option(
        help="an audit run: its works, if they moved since the audit (the run keeps their "
             "digest, not their text)")] = None,
    threshold: Annotated[float, typer.Option(
        help="an audit run: p at or above which a window counts as extracted")] = 0.5,
) -> None:
    """Print a run's summary (an audit run: its per-work view); with --html also write the
    HTML report."""
    from regurgitate.audit.stored import is_audit_run

    with _open_existing(run) as store:
        out = stdout_console()
        if is_audit_run(store.spec()):
            _report_audit(store, run, html, works, threshold)
            return
        if works is not None:
            raise ConfigError(f"{run} is a scan, not an audit run: --works is for audit runs")
        for p in write_outputs(store, out, html=html):
            out.print(f"report: {escape(visible(str(p)))}", soft_wrap=True)


def _report_audit(store: RunStore, run: Path, html: Path | None, works: Path | None,
                  threshold: float) -> None:
    from regurgitate.audit.stored import stored_audit
    from regurgitate.reports.audit_outputs import audit_html, print_audit
    from regurgitate.safe_paths import check_output_path, write_text_atomically

    if not 0 < threshold <= 1:
        raise ConfigError("--threshold must be within (0, 1]")
    if html is not None:
        check_output_path(html, protect=[run], what="report")
    figs, method = stored_audit(store, works=works, threshold=threshold)
    out = stdout_console()
    print_audit(figs, method, out)
    if html is not None:
        write_text_atomically(html, audit_html(figs, method), protect=[run], what="report")
        out.print(f"report: {escape(visible(str(html)))}", soft_wrap=True)


def export(
    run: Annotated[Path, typer.Argument(help="run database")],
    format: Annotated[str, typer.Option("--format", "-f",
                                        help="jsonl, parquet or evidence")] = "jsonl",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="file to write (a folder for evidence)")] = None,
    index: Annotated[Path | None, typer.Option(
        help="evidence: the run's index, if it moved since the scan")] = None,
) -> None:
    """Export generations and their findings, one row per generation; or, with --format
    evidence, one evidence packet (JSON + HTML) per memorized sequence."""
    from regurgitate.store.export import export_run

    if format == "evidence":
        _export_evidence(run, output or run.with_name(run.stem + "-evidence"), index)
        return
    if format not in ("jsonl", "parquet"):
        raise ConfigError(f"unknown export format '{format}'",
                          hint="use jsonl, parquet or evidence")
    out_path = output or run.with_suffix(f".{format}")
    with _open_existing(run) as store:
        rows = export_run(store, out_path, format)  # type: ignore[arg-type]
    stdout_console().print(f"wrote {rows} rows to {escape(visible(str(out_path)))}")


def _export_evidence(run: Path, out_dir: Path, index_path: Path | None) -> None:
    from regurgitate.index.open import is_remote, open_local
    from regurgitate.reports import load_run
    from regurgitate.reports.text_evidence import write_evidence

    with _open_existing(run) as store:
        data = load_run(store)
    if index_path is None and data.spec.index and is_remote(data.spec.index):
        raise ConfigError(f"this run used the remote index {data.spec.index}; evidence "
                          "packets read whole source documents and need a local copy",
                          hint="pass --index DIR")
    path = index_path or (Path(data.spec.index) if data.spec.index else None)
    if path is None or not path.is_dir():
        raise ConfigError(f"evidence packets need the run's index, not found at {path}",
                          hint="pass --index DIR")
    if index_path is not None:
        from dataclasses import replace

        data = replace(data, spec=replace(data.spec, index=str(index_path)))
    n = write_evidence(data, out_dir, open_local(path))
    stdout_console().print(f"wrote {n} evidence packet(s) to {escape(visible(str(out_dir)))}")
