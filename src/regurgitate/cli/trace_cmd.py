"""`regurgitate trace`: the live page that traces answers to the corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from regurgitate.cli.common import DTYPE_OPT, QUIET_OPT, TOKENIZER_OPT, stderr_console
from regurgitate.cli.serving_options import HOST_HELP, ApiKeyEnv, ApiKeyFile, InsecureNoAuth

#: the word --target takes for a page that traces pasted text only
NO_TARGET = "none"


def _target_class(target: str) -> Any:
    """The class of a text target spec (ConfigError for a bad spec or an image target)."""
    from regurgitate import registry
    from regurgitate.errors import ConfigError
    from regurgitate.targets.spec import parse_spec

    cls = registry.targets().load(parse_spec(target).scheme)
    if cls.modality != "text":
        raise ConfigError(f"trace reads text, and the target {target} makes images",
                          hint="give a text target, or --target none to paste text")
    return cls


def _index_spec(index: str | None, target: str | None, note: Any) -> tuple[str | None, str | None]:
    """The index the page uses, as ``scan`` picks it: the user's, or the word ``reference``
    (the bundled reference corpus), or the target's own default (the reference model brings
    its corpus); with none, why not."""
    from regurgitate.scan.request import cache_dir
    from regurgitate.targets.reference import reference_index
    from regurgitate.targets.spec import parse_spec

    if index == "reference":  # the word names the bundled index (as check takes it)
        return str(reference_index(cache_dir(), note)), None
    if index is not None:
        return index, None
    if target is None:
        return None, "no --index given (a page without a target brings no corpus)"
    parsed = parse_spec(target)
    path = _target_class(target).default_index(parsed.raw_location, cache_dir(), note)
    if path is None:
        return None, f"no --index given, and the target {parsed.name} brings no corpus"
    return str(path), None


def trace(
    target: Annotated[str, typer.Option(
        "--target", "-t", help="model to chat with (a target spec as scan takes it), or "
        f"'{NO_TARGET}' to trace pasted text only")] = "reference",
    index: Annotated[str | None, typer.Option(
        "--index", "-i", help="index directory, http(s)://HOST:PORT?index=NAME, or "
        "`reference` (default: the target's own corpus, as scan picks it)")] = None,
    host: Annotated[str, typer.Option(help=HOST_HELP)] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0 picks a free one)")] = 8765,
    api_key_env: ApiKeyEnv = None,
    api_key_file: ApiKeyFile = None,
    insecure_no_auth: InsecureNoAuth = False,
    min_tokens: Annotated[int, typer.Option(help="shortest verbatim span, in tokens")] = 50,
    max_docs: Annotated[int, typer.Option(help="source documents listed per span")] = 10,
    seed_tokens: Annotated[int | None, typer.Option(
        help="shortest exact match a passage is aligned from (as check)")] = None,
    works: Annotated[int, typer.Option(help="source works compared in detail")] = 10,
    max_chars: Annotated[int, typer.Option(help="longest text traced, in characters")] = 100_000,
    max_new_tokens: Annotated[int, typer.Option(
        help="most tokens one chat answer may ask for")] = 1024,
    runs_dir: Annotated[Path, typer.Option(
        help="where saved sessions (runs) are written")] = Path("regurgitate-out"),
    tokenizer: Annotated[str | None, TOKENIZER_OPT] = None,
    token_dtype: Annotated[str | None, DTYPE_OPT] = None,
    quiet: Annotated[bool, QUIET_OPT] = False,
) -> None:
    """Serve a local page where you chat with a model (or paste any text) and see each
    answer's verbatim spans in the corpus, longest and rarest first, with counts; click one
    for its source documents and the context around the match. Links /?text=... and
    /?prompt=... open the page with that text traced. With no options: the bundled reference
    model and corpus, as scan uses them. The page binds 127.0.0.1; beyond loopback it needs
    a key, which the page asks for once."""
    from regurgitate.serving import is_loopback, server_api_key
    from regurgitate.targets.spec import make_target
    from regurgitate.trace.api import TraceApp
    from regurgitate.trace.engine import TraceEngine, TraceSettings, open_text_index
    from regurgitate.trace.server import SERVES, bind_trace_server

    err = stderr_console(quiet=quiet)
    # refused before anything is loaded or bound
    api_key = server_api_key(host, api_key_env, api_key_file,
                             insecure_no_auth=insecure_no_auth, serves=SERVES)
    settings = TraceSettings(min_tokens=min_tokens, max_docs=max_docs, works=works,
                             seed_tokens=seed_tokens, max_chars=max_chars,
                             max_new_tokens=max_new_tokens)
    target_spec = None if target == NO_TARGET else target
    if target_spec is not None:
        _target_class(target_spec)  # a bad spec or an image target: a command-line mistake
    spec, problem = _index_spec(index, target_spec, lambda m: err.print(escape(m)))

    def opener(s: str | Path) -> Any:
        return open_text_index(s, tokenizer=tokenizer, token_dtype=token_dtype)

    engine = TraceEngine(spec, target_spec, settings, open_index=opener,
                         make_target=make_target, index_problem=problem)
    status = engine.index_status()  # opened (and its page cache warmed) before serving
    if not status["ok"]:
        err.print(f"[bold yellow]warning:[/] {escape(status['error'])}; the page says so "
                  "and traces nothing until it is fixed", soft_wrap=True)
    else:
        engine.warm_up()
    server = bind_trace_server(TraceApp(engine, runs_dir, loopback=is_loopback(host)), host,
                               port, api_key=api_key, insecure_no_auth=insecure_no_auth)
    if insecure_no_auth:
        err.print(f"[bold red]warning:[/] --insecure-no-auth: anyone who reaches "
                  f"{escape(server.base_url)} can chat with the model and read the corpus",
                  soft_wrap=True)
    err.print(f"trace page: [bold]{escape(server.base_url)}/[/]  (Ctrl-C stops it)",
              soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        engine.close()
