"""`regurgitate index serve`: local indexes over HTTP in infini-gram's API shape."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from regurgitate.cli.common import stderr_console


def serve(
    indexes: Annotated[list[str], typer.Argument(
        help="index directories to serve, each DIR (named after it) or NAME=DIR")],
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0 picks a free one)")] = 8080,
    max_query_tokens: Annotated[int, typer.Option(
        help="longest query accepted, in tokens (infini-gram's hosted API: 500)")] = 10_000,
) -> None:
    """Answer infini-gram API queries (POST /) for the given indexes; GET / lists them."""
    from regurgitate.errors import ConfigError
    from regurgitate.index.server import IndexService, make_server

    if max_query_tokens < 1:
        raise ConfigError("--max-query-tokens must be >= 1")
    service = IndexService.open(indexes, max_query_tokens=max_query_tokens)
    try:
        server = make_server(service, host, port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    h, p = str(server.server_address[0]), int(server.server_address[1])
    err = stderr_console()
    for name in sorted(service.indexes):
        err.print(f"serving [bold]{escape(name)}[/] at http://{h}:{p}/?index={escape(name)}",
                  soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
