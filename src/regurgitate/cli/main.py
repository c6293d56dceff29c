"""The `regurgitate` command: a thin typer layer. Errors from `regurgitate.errors` become one
line on stderr and their exit code; nothing a user can cause prints a traceback."""

from __future__ import annotations

import inspect
import sys
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.markup import escape

from regurgitate.errors import Interrupted, RegurgitateError
from regurgitate.untrusted import visible

#: ``-h`` is ``--help`` on every command (click hands the setting down to subcommands)
CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="regurgitate", no_args_is_help=True, add_completion=True,
    help="Audit generative models for training-data memorization.",
    pretty_exceptions_enable=False, context_settings=CONTEXT,
)


def unwrap(doc: str | None) -> str | None:
    """A docstring as help text: its paragraphs kept, the line breaks inside each one
    joined, so the terminal wraps the sentences instead of breaking them where the source
    did ("run in" / "./regurgitate-out/")."""
    if not doc:
        return doc
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def _unwrap_help(typer_app: typer.Typer) -> None:
    """Every command's help from its docstring, unwrapped (see :func:`unwrap`)."""
    for cmd in typer_app.registered_commands:
        if cmd.help is None and cmd.callback is not None:
            cmd.help = unwrap(cmd.callback.__doc__)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _unwrap_help(group.typer_instance)


def _register() -> None:
    from regurgitate.cli import (
        audit_cmd,
        check_cmd,
        dedup_cmd,
        index_cmd,
        plugins_cmd,
        report_cmd,
        scan_cmd,
        serve_cmd,
        trace_cmd,
    )
    from regurgitate.cli import (
        index_images_cmd as images_cmd,
    )
    from regurgitate.cli import (
        index_serve_cmd as index_serve,
    )
    from regurgitate.cli import (
        index_sharded_cmd as index_shard_cmd,
    )

    index_cmd.index_app.command("serve")(index_serve.serve)
    index_cmd.index_app.command("build-sharded")(index_shard_cmd.build_sharded)
    index_cmd.index_app.command("build-images")(images_cmd.build_images)
    app.add_typer(index_cmd.index_app, name="index")
    app.command("check")(check_cmd.check)
    app.command("dedup")(dedup_cmd.dedup)
    app.command("scan", cls=scan_cmd.ScanCommand)(scan_cmd.scan)
    app.command("audit")(audit_cmd.audit)
    app.add_typer(report_cmd.runs_app, name="runs")
    app.command("report")(report_cmd.report)
    app.command("export")(report_cmd.export)
    app.command("serve")(serve_cmd.serve)
    app.command("trace")(trace_cmd.trace)
    app.command("plugins")(plugins_cmd.plugins)
    from regurgitate.cli import reference_cmd

    app.command("reference")(reference_cmd.reference)
    _unwrap_help(app)


def _version(value: bool) -> None:
    if value:
        from regurgitate.runtimes.versions import version_report
        from regurgitate.version import __version__

        typer.echo(version_report(__version__))
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="print the version of regurgitate and of its key libraries, and the device")
    ] = False,
    plugins: Annotated[str | None, typer.Option(
        "--plugins", metavar="FILE.py,MODULE",
        help="local plugins to use without packaging them: .py files or importable modules "
             "whose Target, Attack, Detector and Payload subclasses register under their "
             "names (also: the REGURGITATE_PLUGINS environment variable)")] = None,
) -> None:
    """Audit generative models for training-data memorization."""
    if plugins:
        import os

        from regurgitate.entrypoints import PLUGINS_ENV

        # imported where the registry is first read; one that fails is named in one line
        given = [p.strip() for p in plugins.split(",") if p.strip()]
        os.environ[PLUGINS_ENV] = os.pathsep.join(
            [*given, *(p for p in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if p)])
        obj = ctx.ensure_object(dict)
        words = list(obj.get("argv") or [])
        if "--plugins" in words:  # commands' "resume with" hints start at the command
            at = words.index("--plugins")
            del words[at:at + 2]
        obj["argv"] = [w for w in words if not w.startswith("--plugins=")]


_register()


def main(argv: list[str] | None = None) -> None:
    """The command line; ``--plugins`` sets REGURGITATE_PLUGINS for this command only (the
    variable is restored afterwards, so an in-process caller keeps its own)."""
    import os

    from regurgitate.entrypoints import PLUGINS_ENV

    saved = os.environ.get(PLUGINS_ENV)
    try:
        _main(argv)
    finally:
        if saved is None:
            os.environ.pop(PLUGINS_ENV, None)
        else:
            os.environ[PLUGINS_ENV] = saved


def _main(argv: list[str] | None) -> None:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        # the command line reaches commands through the context (for "resume with" hints)
        words = list(sys.argv[1:] if argv is None else argv)
        rv = app(args=argv, prog_name="regurgitate", standalone_mode=False,
                 obj={"argv": words})
    except RegurgitateError as exc:
        # messages may quote model, corpus or endpoint text: controls shown as escapes
        err.print(f"[bold red]error:[/] {escape(visible(exc.message))}", emoji=False)
        if exc.hint:
            err.print(f"[dim]hint:[/] {escape(visible(exc.hint))}", emoji=False)
        sys.exit(exc.exit_code)
    except Interrupted as exc:
        err.print(f"[yellow]stopped:[/] {escape(visible(exc.reason))}")
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
            err.print(f"[bold red]error:[/] {escape(visible(str(exc)))}")
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        sys.exit(130)
    if isinstance(rv, int) and rv != 0:
        sys.exit(rv)


if __name__ == "__main__":
    main()
