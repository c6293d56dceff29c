"""The `regurgitate` command: a thin typer layer. Errors from `regurgitate.errors` become one
line on stderr and their exit code; nothing a user can cause prints a traceback."""

from __future__ import annotations

import sys

import click
import typer
from rich.console import Console
from rich.markup import escape

from regurgitate.errors import Interrupted, RegurgitateError

app = typer.Typer(
    name="regurgitate", no_args_is_help=True, add_completion=False,
    help="Audit generative models for training-data memorization.",
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from regurgitate.cli import index_cmd, plugins_cmd, report_cmd, scan_cmd, serve_cmd

    app.add_typer(index_cmd.index_app, name="index")
    app.command("check")(index_cmd.check)
    app.command("scan")(scan_cmd.scan)
    app.add_typer(report_cmd.runs_app, name="runs")
    app.command("report")(report_cmd.report)
    app.command("export")(report_cmd.export)
    app.command("serve")(serve_cmd.serve)
    app.command("plugins")(plugins_cmd.plugins)


_register()


def main(argv: list[str] | None = None) -> None:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        # the command line reaches commands through the context (for "resume with" hints)
        words = list(sys.argv[1:] if argv is None else argv)
        rv = app(args=argv, standalone_mode=False, obj={"argv": words})
    except RegurgitateError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.message)}", emoji=False)
        if exc.hint:
            err.print(f"[dim]hint:[/] {escape(exc.hint)}", emoji=False)
        sys.exit(exc.exit_code)
    except Interrupted as exc:
        err.print(f"[yellow]stopped:[/] {escape(exc.reason)}")
        sys.exit(exc.exit_code)
    except (typer.Abort, click.exceptions.Abort):
        err.print("[yellow]aborted[/]")
        sys.exit(130)
    except (typer.TyperException, click.ClickException) as exc:
        # usage errors (unknown command or option, bad value): click's own message
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        sys.exit(130)
    if isinstance(rv, int) and rv != 0:
        sys.exit(rv)


if __name__ == "__main__":
    main()
