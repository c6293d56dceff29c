"""`regurgitate dedup`: strike repeated spans of >= N tokens after their first occurrence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from regurgitate.cli.common import QUIET_OPT, CountingProgress, stderr_console, stdout_console


def dedup(
    corpus: Annotated[list[Path], typer.Argument(help="JSONL(.gz/.zst), Parquet, text dirs")],
    output: Annotated[Path, typer.Option("--output", "-o", help="deduplicated JSON lines file")],
    min_tokens: Annotated[int, typer.Option(help="shortest repeated span removed, in tokens")
                          ] = 50,
    tokenizer: Annotated[str, typer.Option(help="'bytes', a tokenizer.json, or a directory")
                         ] = "bytes",
    text_field: Annotated[str, typer.Option(help="JSONL/Parquet field holding the text")
                          ] = "text",
    strike_all: Annotated[bool, typer.Option(
        help="also remove the first occurrence (the original ExactSubstr collect)")] = False,
    quiet: Annotated[bool, QUIET_OPT] = False,
) -> None:
    """Remove every repeat of a span of >= N tokens after its first occurrence (ExactSubstr).

    Rerunning the same command after an interruption resumes; see docs/dedup in docs/scale.md.
    """
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index.dedup import dedup_corpus

    tok = load_tokenizer(tokenizer)
    err = stderr_console(quiet=quiet)  # progress only: --quiet prints the result only
    err.print(f"deduplicating {len(corpus)} input(s) at {min_tokens} tokens ...")
    bars: list[tuple[str, CountingProgress]] = []  # the pass being drawn

    def show(phase: str, docs: int, tokens: int) -> None:
        if not bars or bars[-1][0] != phase:
            if bars:
                bars[-1][1].__exit__(None, None, None)
            bars.append((phase, CountingProgress(err, phase, "tokens").__enter__()))
        bars[-1][1](docs, tokens)

    try:
        r = dedup_corpus(corpus, output, tok, min_tokens=min_tokens, text_field=text_field,
                         strike_all=strike_all, progress=show)
    finally:
        if bars:
            bars[-1][1].__exit__(None, None, None)
    share = r.tokens_removed / max(r.tokens_in, 1)
    stdout_console().print(
        f"{r.documents:,} documents (all written): {r.documents_changed:,} changed, "
        f"{r.documents_emptied:,} emptied"
        + (f", {r.documents_blank:,} blank on input (kept)" if r.documents_blank else "")
        + f"; removed {r.tokens_removed:,} of {r.tokens_in:,} tokens ({share:.2%}), "
        f"{r.chars_removed:,} of {r.chars_in:,} characters; {r.bytes_in:,} text bytes in, "
        f"{r.bytes_out:,} bytes written to {escape(str(output))}", soft_wrap=True)
