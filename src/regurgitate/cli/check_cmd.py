"""`regurgitate check TEXT --index IDX [--json] [--html FILE]`: the closeness report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from regurgitate.cli.common import (
    DTYPE_OPT,
    TOKENIZER_OPT,
    highlighted,
    stderr_console,
    stdout_console,
)
from regurgitate.errors import ConfigError
from regurgitate.reports.check_terminal import LEGEND, works_table
from regurgitate.reports.check_terminal import short_label as _short
from regurgitate.reports.units import index_unit
from regurgitate.untrusted import visible

#: texts longer than this are not echoed to the terminal (the spans and works still are);
#: a pipe or a file never gets the text, only the summary
ECHO_LIMIT = 20_000
#: verbatim spans listed one by one at most (``--json`` lists all)
SPAN_ROWS = 30



def _read_text(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    path = Path(file)
    if not path.is_file():
        raise ConfigError(f"no such file: {file}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file} is not UTF-8 text (byte {exc.start})") from None


def _reference_index(quiet: bool) -> Path:
    """The bundled reference corpus's index, said on stderr so that nobody takes it for
    their own corpus."""
    from regurgitate.cli.reference_cmd import reference_index_path

    path = reference_index_path(quiet)
    stderr_console(quiet=quiet).print(
        f"[dim]no --index given: checking against the bundled reference corpus "
        f"({escape(str(path))}); build your own with: regurgitate index build CORPUS -o DIR "
        f"(regurgitate reference shows what the bundled set holds)[/]")
    return path


def check(
    file: Annotated[str, typer.Argument(help="text file, or - for standard input")] = "-",
    index: Annotated[str | None, typer.Option(
        "--index", "-i", help="index directory, http(s)://HOST:PORT?index=NAME, or "
        "`reference` (default: the bundled reference corpus's index, built and cached on "
        "first use)")] = None,
    min_tokens: Annotated[int, typer.Option(
        help="shortest verbatim span, in the index's unit (tokens of its tokenizer, or bytes "
             "for a byte-level index)")] = 50,
    max_docs: Annotated[int, typer.Option(help="source documents listed per span")] = 10,
    seed_tokens: Annotated[int | None, typer.Option(
        help="shortest exact match a passage is aligned from (default 4 tokens, 16 for a "
             "byte-level index, at most --min-tokens)")] = None,
    works: Annotated[int, typer.Option(help="source works compared in detail")] = 10,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    html: Annotated[Path | None, typer.Option(help="also write an HTML closeness report")] = None,
    tokenizer: Annotated[str | None, TOKENIZER_OPT] = None,
    token_dtype: Annotated[str | None, DTYPE_OPT] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="print the verdict only (no text, tables, progress or notes)")
    ] = False,
) -> None:
    """How close is a text to the indexed corpus, and to which works? Exact verbatim spans
    (each occurs exactly COUNT times); per work, the share of the text in its aligned passages
    and the text's ROUGE-L against its best window, then the longest passage's similarity with
    its length; a verdict. On a terminal the text is echoed with its spans highlighted (up to
    20,000 characters); a pipe or file gets the summary only."""
    from regurgitate.check.closeness import closeness, report_to_dict

    if min_tokens < 1 or max_docs < 1 or works < 0:
        raise ConfigError("--min-tokens and --max-docs must be >= 1, --works >= 0")
    if index is None or index == "reference":  # the word names the bundled index
        index = str(_reference_index(quiet))
    # fail on a bad index before reading the input
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index.open import open_index

    idx: Any = open_index(index, modality="text", token_dtype=token_dtype,
                          tokenizer=load_tokenizer(tokenizer) if tokenizer else None)
    text = _read_text(file)
    report = closeness(idx, text, min_tokens=min_tokens, seed_tokens=seed_tokens,
                       max_docs=max(max_docs, 100), top_works=works)
    data = report_to_dict(report, idx, text)
    unit = data.get("unit") or index_unit(idx.info)
    counts = [_count_label(s, unit=unit) for s in data["spans"]]
    counts += [_count_label(r["span"], unit=unit) for r in data["runs"]]
    # the listing honours --max-docs; counts stay exact
    parts = [p for s in data["spans"] for p in (s, s["window"] or {})]
    parts += [p for r in data["runs"] for p in (r, r["span"], r["span"]["window"] or {})]
    for part in parts:
        for key in ("documents", "doc_ids", "sources"):
            if key in part:
                part[key] = part[key][:max_docs]
    if html is not None:
        from regurgitate.reports.check_html import write_closeness_html

        write_closeness_html(data, text, html, index=str(index))
    if json_out:
        data["index"] = str(index)
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    if quiet:
        stdout_console().print(Text("verdict: " + visible(data["verdict"]), style="bold"))
        return
    _print(data, text, min_tokens, max_docs, html, unit, counts)


def _count_label(span: dict[str, Any], unit: str) -> str:
    """The span's count and its most repeated window's: '1 (whole span) · 100 (its most
    repeated 50-token window: ref-00000 +99)'. Taken before --max-docs cuts the lists."""
    whole = f"{span['count']:,} (whole span)"
    win = span.get("window")
    if not win:
        return whole
    size = f"{win['tokens']}-{unit[:-1] if unit.endswith('s') else unit}"
    if win["count"] <= span["count"]:
        return f"{span['count']:,} (whole span and every {size} window in it)"
    names = win["sources"]
    where = ""
    if names:
        more = len(names) - 1
        where = ": " + _short(names[0]) + (f" +{more:,}" if more else "")
        if len(names) < win["count"] and len(names) >= 100:
            where += " or more"
    return f"{whole} · {win['count']:,} (its most repeated {size} window{where})"


def _print(data: dict[str, Any], text: str, min_tokens: int, max_docs: int,
           html: Path | None, unit: str, counts: list[str]) -> None:
    out = stdout_console()
    spans = data["spans"]
    if out.is_terminal and len(text) <= ECHO_LIMIT:
        regions = [(r["start"], r["end"]) for r in data["coverage"]]
        out.print(highlighted(text, regions, "bold black on yellow"))
        out.print()
    elif out.is_terminal:
        out.print(f"[dim]the text ({len(text):,} characters) is not echoed above "
                  f"{ECHO_LIMIT:,}; --html marks its spans[/]")
    runs = data["runs"]
    listed = (f" ({len(spans):,} listed one by one, {sum(r['spans'] for r in runs):,} in "
              f"{len(runs):,} periodic run(s))" if runs else "")
    out.print(f"[bold]{data['span_count']:,}[/] verbatim span(s) of >= {min_tokens} {unit}"
              f"{listed}, covering {data['covered_chars']:,} of {data['chars']:,} characters "
              f"({100 * data['covered_share']:.1f}%)")
    if spans or runs:
        t = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
        t.add_column("#", justify="right")
        t.add_column("Chars", no_wrap=True)
        t.add_column(unit.capitalize(), justify="right")
        t.add_column("Count", overflow="fold", min_width=12)
        t.add_column("Source", overflow="fold", min_width=24)
        for n, s in enumerate(spans[:SPAN_ROWS], 1):
            names = ", ".join(_short(d) for d in s["sources"])
            if s["count"] > len(s["sources"]) and len(s["sources"]) >= max_docs:
                names += f" (first {max_docs})"
            t.add_row(str(n), f"{s['start']}-{s['end']}", str(s["tokens"]),
                      Text(counts[n - 1]), Text(names))
        for k, r in enumerate(runs, len(spans) + 1):
            names = ", ".join(_short(d) for d in r["sources"])
            if r["count"] > len(r["sources"]) and len(r["sources"]) >= max_docs:
                names += f" (first {max_docs})"
            t.add_row(str(k), f"{r['start']}-{r['end']}",
                      Text(f"{r['span_tokens']} x {r['spans']:,}"),
                      Text(counts[k - 1]), Text(names))
        out.print(t)
        if len(spans) > SPAN_ROWS:
            out.print(f"[dim]and {len(spans) - SPAN_ROWS:,} more span(s): --json or --html "
                      "lists them all[/]")
        for k, r in enumerate(runs, len(spans) + 1):
            out.print(Text(f"#{k}: periodic run of {visible(repr(r['unit'][:60]))} "
                           f"(period {r['period_chars']:,} characters): {r['spans']:,} "
                           f"spans, one every period, each {r['span_chars']:,} characters of "
                           "that unit repeated", style="dim"))
    if data["works"]:
        out.print(works_table(data, unit))
        out.print(Text(LEGEND, style="dim"))
    out.print(Text("verdict: " + visible(data["verdict"]), style="bold"))
    out.print(f"[dim]{data['tokens']:,} {unit} checked in {data['seconds']:.2f} s[/]")
    if html is not None:
        out.print(f"report: {escape(visible(str(html)))}", soft_wrap=True)
