"""`regurgitate index build|info` (`regurgitate check` lives in ``check_cmd``)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from regurgitate.cli.common import (
    DTYPE_OPT,
    QUIET_OPT,
    TOKENIZER_OPT,
    CountingProgress,
    parse_size,
    stderr_console,
    stdout_console,
)
from regurgitate.errors import ConfigError, CorpusError, Interrupted
from regurgitate.reports.units import index_unit

index_app = typer.Typer(no_args_is_help=True, help="Build and inspect corpus indexes.")


@index_app.command("build")
def build(
    corpus: Annotated[list[Path], typer.Argument(help="JSONL(.gz/.zst), Parquet, text dirs, "
                                                 "or datasets saved to disk")],
    output: Annotated[Path, typer.Option("--output", "-o", help="index directory to create")],
    tokenizer: Annotated[str, typer.Option(help="'bytes', a tokenizer.json, or a tokenizer "
                                           "directory")] = "bytes",
    text_field: Annotated[str, typer.Option(help="JSONL/Parquet field holding the text")] = "text",
    on_error: Annotated[str, typer.Option(help="bad record: 'stop' or 'skip'")] = "stop",
    shard_size: Annotated[str, typer.Option(help="size budget per shard, e.g. 2GB")] = "4GB",
    index_format: Annotated[str, typer.Option(
        "--format", help="'sa': suffix array beside the tokens (infini-gram's layout); 'fm': "
        "compressed FM-index (smaller, slower queries, the same answers)")] = "sa",
    compressed: Annotated[bool, typer.Option(
        "--compressed", help="the same as --format fm")] = False,
    memory: Annotated[str | None, typer.Option(
        help="memory budget of the build, e.g. 8GB (default: half of this machine's "
             "memory); shards are made small enough to build within it")] = None,
    force: Annotated[bool, typer.Option(help="replace an existing index")] = False,
    id_field: Annotated[str | None, typer.Option(
        help="record field holding each document's id (default: 'id' when present, else "
             "path:line / path:row / the file's path)")] = None,
    meta_fields: Annotated[str, typer.Option(
        help="comma-separated record fields kept per document, e.g. url,title")] = "",
    quiet: Annotated[bool, QUIET_OPT] = False,
) -> None:
    """Tokenize a corpus and build its index: a suffix array (infini-gram's on-disk layout)
    or, with --format fm, a compressed FM-index. Shards are sized to build within --memory."""
    from regurgitate.corpus.readers import read_corpus
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index import build_index
    from regurgitate.index.output import check_output

    if on_error not in ("stop", "skip"):
        raise ConfigError(f"--on-error must be 'stop' or 'skip', not '{on_error}'")
    check_output(output, force)  # before any work: --force replaces only an index
    tok = load_tokenizer(tokenizer)
    err = stderr_console()
    skipped: list[CorpusError] = []

    def on_skip(exc: CorpusError) -> None:
        skipped.append(exc)
        if len(skipped) <= 10:
            err.print(f"[yellow]skipped[/] {escape(str(exc))}", soft_wrap=True)

    docs = read_corpus(corpus, text_field=text_field, on_error=on_error,  # type: ignore[arg-type]
                       on_skip=on_skip, id_field=id_field,
                       meta_fields=[f.strip() for f in meta_fields.split(",") if f.strip()])
    from regurgitate.index import memory as mem

    if compressed:
        index_format = "fm"
    if index_format not in ("sa", "fm"):
        raise ConfigError(f"--format must be 'sa' or 'fm', not '{index_format}'")
    budget = parse_size(memory) if memory is not None else mem.default_budget()
    shard_bytes = min(parse_size(shard_size), mem.shard_bytes(budget, index_format))
    shard_tokens = max(1, shard_bytes // tok.dtype.itemsize)
    main_thread = threading.current_thread() is threading.main_thread()
    # SIGTERM stops a build like Ctrl-C: the partial build is removed. SIGINT is handled
    # even when this process inherited it ignored (started in the background by a shell),
    # as scan handles it: a signal sent on purpose stops the build
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler) \
        if main_thread else None
    try:
        unit = "bytes" if tok.dtype.itemsize == 1 else "tokens"
        with CountingProgress(stderr_console(quiet=quiet), "indexing", unit) as bar:
            info = build_index(docs, output, tok, shard_tokens=shard_tokens, progress=bar,
                               overwrite=force, index_format=index_format)
    except CorpusError as exc:
        if on_error == "stop" and exc.line is not None and exc.hint is None:
            exc.hint = "fix the record, or pass --on-error skip to leave bad records out"
        raise
    except KeyboardInterrupt:
        raise Interrupted(f"index build interrupted; the partial build was removed and "
                          f"{output} left as it was") from None
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, previous_int)
    if len(skipped) > 10:
        err.print(f"[yellow]... {len(skipped) - 10} more records skipped[/]")
    size = sum(f.stat().st_size for f in Path(info.path).iterdir() if f.is_file())
    rate = info.num_tokens / max(info.build_seconds, 1e-9)
    unit = index_unit({"dtype": info.dtype, "tokenizer": info.tokenizer})
    stdout_console().print(
        f"indexed [bold]{info.num_docs:,}[/] documents, [bold]{info.num_tokens:,}[/] {unit} "
        f"({info.dtype}, {info.num_shards} shard(s)) in {info.build_seconds:.1f} s "
        f"({rate:,.0f} {unit}/s); {size / 2**20:.1f} MiB "
        f"({size / max(info.text_bytes, 1):.2f}x the corpus's {info.text_bytes / 2**20:.1f} MiB "
        f"of text, {'FM-index' if index_format == 'fm' else 'suffix array'}) "
        f"at {escape(str(info.path))}"
        + (f"; {len(skipped)} bad record(s) skipped" if skipped else ""), soft_wrap=True)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _print_info(info: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    byte_level = index_unit(info) == "bytes"
    for key, value in info.items():
        if isinstance(value, dict | list):
            value = json.dumps(value)[:200]
        if key == "num_tokens" and byte_level:  # a byte-level index counts UTF-8 bytes
            key, value = "num_bytes", f"{value} (a byte-level index: UTF-8 bytes, not tokens)"
        table.add_row(f"[bold]{key}[/]", escape(str(value)))
    stdout_console().print(table)


@index_app.command("info")
def info(
    index: Annotated[str, typer.Argument(help="index directory, http(s)://HOST:PORT/PATH"
                                               "?index=NAME (port and path optional), or "
                                               "`reference` (the bundled corpus's index)")],
    verify: Annotated[bool, typer.Option(help="check every file's checksum")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    tokenizer: Annotated[str | None, TOKENIZER_OPT] = None,
    token_dtype: Annotated[str | None, DTYPE_OPT] = None,
) -> None:
    """Show an index's size, tokenizer, shards and documents."""
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index.open import open_index

    if index == "reference":  # the word names the bundled index, as --index does
        from regurgitate.cli.reference_cmd import reference_index_path

        index = str(reference_index_path())

    idx = open_index(index, modality="text", token_dtype=token_dtype, verify=verify,
                     tokenizer=load_tokenizer(tokenizer) if tokenizer else None)
    if json_out:
        sys.stdout.write(json.dumps(idx.info, indent=2, default=str) + "\n")
    else:
        _print_info(idx.info)

