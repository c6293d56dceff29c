"""`regurgitate index build-sharded`: index parts built as independent units of work."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from regurgitate.cli.common import parse_size, stdout_console


def build_sharded(
    corpus: Annotated[list[Path], typer.Argument(help="input files; each part takes a "
                                                 "contiguous group of them")],
    output: Annotated[Path, typer.Option("--output", "-o", help="index directory to create")],
    tokenizer: Annotated[str, typer.Option(help="'bytes', a tokenizer.json, or a directory")
                         ] = "bytes",
    parts: Annotated[int | None, typer.Option(help="parts to build (default: one per file)")
                     ] = None,
    executor: Annotated[str, typer.Option(help="local, or ray (one Ray task per part)")
                        ] = "local",
    ray_address: Annotated[str | None, typer.Option(
        help="Ray cluster to join (default: start a local one)")] = None,
    text_field: Annotated[str, typer.Option(help="JSONL/Parquet field holding the text")
                          ] = "text",
    shard_size: Annotated[str, typer.Option(help="size budget per shard inside a part")
                          ] = "4GB",
    force: Annotated[bool, typer.Option(help="replace an existing index")] = False,
    index_format: Annotated[str, typer.Option(
        "--format", help="'sa' (suffix array) or 'fm' (compressed FM-index)")] = "sa",
) -> None:
    """Build an index as independent parts (e.g. Ray tasks) listed by one manifest."""
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.errors import ConfigError
    from regurgitate.executors import make_executor
    from regurgitate.executors.sharded_build import build_sharded as build

    if index_format not in ("sa", "fm"):
        raise ConfigError(f"--format must be 'sa' or 'fm', not '{index_format}'")
    tok = load_tokenizer(tokenizer)  # fail early on a bad tokenizer, before any task starts
    with make_executor(executor, address=ray_address) as ex:
        m = build(corpus, output, tokenizer, ex, parts=parts, text_field=text_field,
                  shard_tokens=max(1, parse_size(shard_size) // tok.dtype.itemsize),
                  overwrite=force, index_format=index_format)
    stdout_console().print(
        f"indexed [bold]{m['num_docs']:,}[/] documents, [bold]{m['num_tokens']:,}[/] tokens "
        f"in {len(m['parts'])} part(s), {len(m['shards'])} shard(s) with {executor} in "
        f"{m['build_seconds']:.1f} s at {escape(str(output))}", soft_wrap=True)
