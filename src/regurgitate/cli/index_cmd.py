"""`regurgitate index build|info` and `regurgitate check`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from regurgitate.cli.common import CountingProgress, parse_size, stderr_console, stdout_console
from regurgitate.errors import ConfigError, CorpusError

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
    force: Annotated[bool, typer.Option(help="replace an existing index")] = False,
) -> None:
    """Tokenize a corpus and build its suffix-array index (infini-gram's on-disk layout)."""
    from regurgitate.corpus.readers import read_corpus
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index import build_index

    if on_error not in ("stop", "skip"):
        raise ConfigError(f"--on-error must be 'stop' or 'skip', not '{on_error}'")
    if output.exists() and not force and (not output.is_dir() or any(output.iterdir())):
        raise ConfigError(f"{output} already exists",
                          hint="pass --force to replace it, or choose another --output")
    tok = load_tokenizer(tokenizer)
    err = stderr_console()
    skipped: list[CorpusError] = []

    def on_skip(exc: CorpusError) -> None:
        skipped.append(exc)
        if len(skipped) <= 10:
            err.print(f"[yellow]skipped[/] {escape(str(exc))}")

    docs = read_corpus(corpus, text_field=text_field, on_error=on_error,  # type: ignore[arg-type]
                       on_skip=on_skip)
    shard_tokens = max(1, parse_size(shard_size) // tok.dtype.itemsize)
    try:
        with CountingProgress(err, "indexing", "tokens") as bar:
            info = build_index(docs, output, tok, shard_tokens=shard_tokens, progress=bar,
                               overwrite=force)
    except CorpusError as exc:
        if on_error == "stop" and exc.line is not None and exc.hint is None:
            exc.hint = "fix the record, or pass --on-error skip to leave bad records out"
        raise
    if len(skipped) > 10:
        err.print(f"[yellow]... {len(skipped) - 10} more records skipped[/]")
    size = sum(f.stat().st_size for f in Path(info.path).iterdir() if f.is_file())
    rate = info.num_tokens / max(info.build_seconds, 1e-9)
    stdout_console().print(
        f"indexed [bold]{info.num_docs:,}[/] documents, [bold]{info.num_tokens:,}[/] tokens "
        f"({info.dtype}, {info.num_shards} shard(s)) in {info.build_seconds:.1f} s "
        f"({rate:,.0f} tokens/s); {size / 2**20:.1f} MiB at {escape(str(info.path))}"
        + (f"; {len(skipped)} bad record(s) skipped" if skipped else ""), soft_wrap=True)


def _print_info(info: dict[str, object]) -> None:
    table = Table(show_header=False, box=None)
    for key, value in info.items():
        if isinstance(value, dict | list):
            value = json.dumps(value)[:200]
        table.add_row(f"[bold]{key}[/]", escape(str(value)))
    stdout_console().print(table)


_TOKENIZER_OPT = typer.Option(
    help="tokenizer of an index built by infini-gram's own indexer (ours record theirs)")
_DTYPE_OPT = typer.Option(help="u8, u16 or u32, for an infini-gram index without a manifest")


def _open(index: Path, tokenizer: str | None, token_dtype: str | None, *,
          verify: bool = False) -> Any:  # a CorpusIndex
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index import CorpusIndex

    tok = load_tokenizer(tokenizer) if tokenizer else None
    return CorpusIndex.open(index, verify=verify, tokenizer=tok, token_dtype=token_dtype)


@index_app.command("info")
def info(
    index: Annotated[Path, typer.Argument(help="index directory")],
    verify: Annotated[bool, typer.Option(help="check every file's checksum")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    tokenizer: Annotated[str | None, _TOKENIZER_OPT] = None,
    token_dtype: Annotated[str | None, _DTYPE_OPT] = None,
) -> None:
    """Show an index's size, tokenizer, shards and documents."""
    idx = _open(index, tokenizer, token_dtype, verify=verify)
    if json_out:
        sys.stdout.write(json.dumps(idx.info, indent=2, default=str) + "\n")
    else:
        _print_info(idx.info)


def check(
    file: Annotated[str, typer.Argument(help="text file, or - for standard input")] = "-",
    index: Annotated[Path, typer.Option("--index", "-i", help="index directory")] = Path("."),
    min_tokens: Annotated[int, typer.Option(help="shortest span to report, in tokens")] = 50,
    max_docs: Annotated[int, typer.Option(help="source documents listed per span")] = 10,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    tokenizer: Annotated[str | None, _TOKENIZER_OPT] = None,
    token_dtype: Annotated[str | None, _DTYPE_OPT] = None,
) -> None:
    """Find every verbatim span of a text that occurs in the indexed corpus."""
    if min_tokens < 1:
        raise ConfigError("--min-tokens must be >= 1")
    idx = _open(index, tokenizer, token_dtype)  # fail on a bad index before reading input
    if file == "-":
        text = sys.stdin.read()
    else:
        path = Path(file)
        if not path.is_file():
            raise ConfigError(f"no such file: {file}")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file} is not UTF-8 text (byte {exc.start})") from None
    spans = idx.find_spans([text], min_tokens=min_tokens, max_docs=max_docs)[0]
    if json_out:
        obj = {
            "index": str(index), "min_tokens": min_tokens, "chars": len(text),
            "spans": [
                {"start": s.start, "end": s.end, "tokens": s.tokens, "count": s.count,
                 "documents": list(s.documents), "text": text[s.start:s.end],
                 "sources": [idx.doc_name(d) for d in s.documents]}
                for s in spans
            ],
        }
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        return
    out = stdout_console()
    rich_text = Text(text)
    for s in spans:
        rich_text.stylize("bold black on yellow", s.start, s.end)
    out.print(rich_text)
    covered = sum(s.end - s.start for s in spans)
    out.print(f"\n[bold]{len(spans)}[/] verbatim span(s) of >= {min_tokens} tokens, "
              f"covering {covered:,} of {len(text):,} characters")
    for n, s in enumerate(spans, 1):
        names = ", ".join(escape(idx.doc_name(d)) for d in s.documents)
        more = f" (first {max_docs} documents)" if len(s.documents) >= max_docs else ""
        out.print(f"  {n}. chars {s.start}-{s.end}  {s.tokens} tokens  "
                  f"{s.count}x in corpus  from {names}{more}", soft_wrap=True)
