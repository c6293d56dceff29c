"""`regurgitate index serve`: local indexes over HTTP in infini-gram's API shape."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from regurgitate.cli.common import stderr_console


def serve(
    indexes: Annotated[list[str], typer.Argument(
        help="index directories to serve, each DIR (named after it) or NAME=DIR")],
    host: Annotated[str, typer.Option(
        help="address to bind; beyond loopback a key (--api-key-env/--api-key-file) is "
             "required")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0 picks a free one)")] = 8080,
    max_query_tokens: Annotated[int, typer.Option(
        help="longest query accepted, in tokens (infini-gram's hosted API: 500)")] = 10_000,
    api_key_env: Annotated[str | None, typer.Option(
        help="require 'Authorization: Bearer <key>' with the key read from this environment "
             "variable")] = None,
    api_key_file: Annotated[str | None, typer.Option(
        help="require 'Authorization: Bearer <key>' with the key read from this file")] = None,
    insecure_no_auth: Annotated[bool, typer.Option(
        "--insecure-no-auth",
        help="serve beyond loopback with no key: anyone who reaches the port can read the "
             "corpus")] = False,
    max_text_tokens: Annotated[int, typer.Option(
        help="most document tokens one answer holds (search_docs, get_doc_by_ix); 0 serves "
             "no document text (counts, spans, ids and metadata only)")] = 10_000,
) -> None:
    """Answer infini-gram API queries (POST /) for the given indexes; GET / describes the
    server."""
    from regurgitate.api_keys import read_api_key
    from regurgitate.errors import ConfigError
    from regurgitate.index.server import IndexService, check_exposure, make_server

    if max_query_tokens < 1:
        raise ConfigError("--max-query-tokens must be >= 1")
    if api_key_env and api_key_file:
        raise ConfigError("give the key once: --api-key-env or --api-key-file")
    api_key = read_api_key(api_key_env, api_key_file, required=True)
    # refused before any index is opened or any port is bound
    check_exposure(host, api_key, insecure_no_auth=insecure_no_auth)
    service = IndexService.open(indexes, max_query_tokens=max_query_tokens,
                                max_text_tokens=max_text_tokens)
    try:
        server = make_server(service, host, port, api_key=api_key,
                             insecure_no_auth=insecure_no_auth)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    h, p = str(server.server_address[0]), int(server.server_address[1])
    err = stderr_console()
    if insecure_no_auth:
        err.print(f"[bold red]warning:[/] --insecure-no-auth: {escape(h)}:{p} answers anyone "
                  "who reaches it, with no key; the indexes' corpus text is readable by them",
                  soft_wrap=True)
    access = "key required" if api_key is not None else "no key"
    text = (f"document text up to {service.max_text_tokens} tokens per answer"
            if service.serves_text else "no document text")
    for name in sorted(service.indexes):
        err.print(f"serving [bold]{escape(name)}[/] at http://{h}:{p}/?index={escape(name)}"
                  f"  ({access}; {text})", soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
