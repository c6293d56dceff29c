"""`regurgitate plugins`: every registered component, per kind, and where it comes from."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from regurgitate.cli.common import stdout_console


def plugins() -> None:
    """List the registered targets, attacks, detectors and finding kinds with the package
    (distribution) that registers each; regurgitate's own are registered the same way."""
    from regurgitate import registry

    out = stdout_console()
    for reg in registry.all_registries():
        table = Table(title=f"{reg.kind}s ({reg.group})", title_justify="left", expand=False)
        table.add_column("name", no_wrap=True)
        table.add_column("object", overflow="fold")
        table.add_column("from", no_wrap=True)
        for name, entries in reg.entries().items():
            for entry in entries:
                table.add_row(escape(name), escape(entry.value), escape(entry.source))
        out.print(table)
