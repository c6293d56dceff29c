"""`regurgitate index serve`: local indexes over HTTP in infini-gram's API shape."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer
from rich.markup import escape

from regurgitate.cli.common import stderr_console
from regurgitate.cli.serving_options import HOST_HELP, ApiKeyEnv, ApiKeyFile, InsecureNoAuth


def serve(
    indexes: Annotated[list[str], typer.Argument(
        help="index directories to serve, each DIR (named after it) or NAME=DIR")],
    host: Annotated[str, typer.Option(help=HOST_HELP)] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0 picks a free one)")] = 8080,
    max_query_tokens: Annotated[int, typer.Option(
        help="longest query accepted, in tokens (infini-gram's hosted API: 500)")] = 10_000,
    api_key_env: ApiKeyEnv = None,
    api_key_file: ApiKeyFile = None,
    insecure_no_auth: InsecureNoAuth = False,
    max_text_tokens: Annotated[int, typer.Option(
        help="most document tokens one answer holds (search_docs, get_doc_by_ix); 0 serves "
             "no document text (counts, spans, ids and metadata only)")] = 10_000,
) -> None:
    """Answer infini-gram API queries (POST /) for the given indexes; GET / describes the
    server."""
    from regurgitate.errors import ConfigError
    from regurgitate.index.server import SERVES, IndexService, make_server
    from regurgitate.serving import server_api_key

    if max_query_tokens < 1:
        raise ConfigError("--max-query-tokens must be >= 1")
    # refused before any index is opened or any port is bound
    api_key = server_api_key(host, api_key_env, api_key_file,
                             insecure_no_auth=insecure_no_auth, serves=SERVES)
    service = IndexService.open(indexes, max_query_tokens=max_query_tokens,
                                max_text_tokens=max_text_tokens)
    server = make_server(service, host, port, api_key=api_key,
                         insecure_no_auth=insecure_no_auth)
    err = stderr_console()
    access = "key required" if api_key is not None else "no key"
    text = (f"document text up to {service.max_text_tokens} tokens per answer"
            if service.serves_text else "no document text")
    for name in sorted(service.indexes):
        err.print(f"serving [bold]{escape(name)}[/] at {escape(server.base_url)}/?index="
                  f"{escape(name)}  ({access}; {text})", soft_wrap=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
