"""`regurgitate plugins`: every registered component, per kind, and where it comes from;
``--options NAME``: the options of the components registered as NAME."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from regurgitate.cli.common import stdout_console
from regurgitate.errors import ConfigError
from regurgitate.options import suggest


def plugins(
    options: Annotated[str | None, typer.Option(
        "--options", metavar="NAME",
        help="list the options of the target, attack or detector registered as NAME, with "
             "their type, default and help")] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="run the conformance checks on every registered component (names, "
        "options, modality, payload round trip, detector creation); exit 1 on a problem")
    ] = False,
) -> None:
    """List the registered targets, attacks, detectors and finding kinds with the package
    (distribution) that registers each; regurgitate's own are registered the same way."""
    from regurgitate import registry

    out = stdout_console()
    if options is not None:
        _print_options(options.strip())
        return
    if check:
        _check()
        return
    for reg in registry.all_registries():
        table = Table(title=f"{reg.kind}s ({reg.group})", title_justify="left", expand=False)
        table.add_column("name", no_wrap=True)
        table.add_column("object", overflow="fold")
        table.add_column("from", no_wrap=True)
        for name, entries in reg.entries().items():
            for entry in entries:
                table.add_row(escape(name), escape(entry.value), escape(entry.source))
        out.print(table)
    out.print("[dim]options of one: regurgitate plugins --options NAME[/]")


def _check() -> None:
    """Every registered component through :mod:`regurgitate.scan.conformance`; exit 1 when
    one has a problem."""
    import tempfile
    from pathlib import Path

    from regurgitate.scan.conformance import check_all

    out = stdout_console()
    with tempfile.TemporaryDirectory(prefix="regurgitate-check-") as tmp:
        results = check_all(Path(tmp))
    table = Table(title="conformance", title_justify="left", expand=False)
    table.add_column("component", no_wrap=True)
    table.add_column("result", overflow="fold")
    failed = 0
    for case, problems in results.items():
        failed += bool(problems)
        table.add_row(Text(str(case)), Text("; ".join(problems), style="red")
                      if problems else Text("ok", style="green"))
    out.print(table)
    out.print(f"{len(results) - failed} of {len(results)} components conform")
    if failed:
        raise typer.Exit(1)


def _target_skip(cls: type) -> int:
    """A target's first positional parameter is its location (``hf:LOCATION``) when it has
    no default, as target specs build them; otherwise it is an option."""
    params = [p for p in inspect.signature(cls).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return 1 if params and params[0].default is inspect.Parameter.empty else 0


def _location(cls: type) -> str:
    from regurgitate.targets.base import Target

    return ":LOCATION" if issubclass(cls, Target) and cls.needs_location else ""


def _print_options(name: str) -> None:
    from regurgitate import registry
    from regurgitate.cli.modality import modality_of
    from regurgitate.option_docs import OptionDoc, describe

    out = stdout_console()
    found = False
    for reg, how in ((registry.targets(), "--target {name}{location}?OPTION=VALUE"),
                     (registry.attacks(), "--set {name}.OPTION=VALUE"),
                     (registry.detectors(), "--set {name}.OPTION=VALUE")):
        if name not in reg.names():
            continue
        found = True
        cls: Any = reg.load(name)
        kind = reg.kind.replace(" scheme", "")
        docs = describe(cls, skip=_target_skip(cls) if kind == "target" else 0)
        if kind == "target":  # the options every target takes (Target.BASE_OPTIONS)
            own = {d.name for d in docs}
            docs += [OptionDoc(opt, tp.__name__, str(getattr(cls, opt)).lower(),
                               "taken by every target (the base class sets it)")
                     for opt, tp in cls.BASE_OPTIONS.items() if opt not in own]
        out.print(f"[bold]{kind} {escape(name)}[/] ({modality_of(name, cls)}): "
                  f"{escape(how.format(name=name, location=_location(cls)))}", soft_wrap=True)
        table = Table(expand=False)
        table.add_column("option", no_wrap=True)
        table.add_column("type", no_wrap=True)
        table.add_column("default", overflow="fold")
        table.add_column("help", overflow="fold")
        for doc in docs:
            table.add_row(escape(doc.name), escape(doc.type),
                          "(required)" if doc.default is None else Text(doc.default),
                          Text(doc.help or "–"))
        out.print(table if docs else "no options")
    if not found:
        names = sorted({n for reg in (registry.targets(), registry.attacks(),
                                      registry.detectors()) for n in reg.names()})
        raise ConfigError(f"no target, attack or detector is registered as {name!r}",
                          hint=f"{suggest(name, names)}see: regurgitate plugins")
    if name in registry.attacks().names() and name in registry.detectors().names():
        out.print(f"[dim]--set {escape(name)}.OPTION sets the attack's options when "
                  f"--attack includes {escape(name)}, the detector's otherwise[/]")
