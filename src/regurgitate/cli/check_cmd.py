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
    open_any_index,
    stdout_console,
)
from regurgitate.errors import ConfigError
from regurgitate.reports.units import index_unit
from regurgitate.untrusted import visible

#: texts longer than this are not echoed to the terminal (the spans and works still are)
ECHO_LIMIT = 20_000



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


def _short(name: str, limit: int = 40) -> str:
    """A readable source label: the start and the end of a long id, never just a prefix."""
    flat = visible(" ".join(name.split()))
    if len(flat) <= limit:
        return flat
    keep = (limit - 1) // 2
    return flat[:keep] + "…" + flat[-(limit - 1 - keep):]


def check(
    file: Annotated[str, typer.Argument(help="text file, or - for standard input")] = "-",
    index: Annotated[str, typer.Option("--index", "-i", help="index directory, or "
                                       "http(s)://HOST:PORT?index=NAME")] = ".",
    min_tokens: Annotated[int, typer.Option(help="shortest verbatim span, in tokens")] = 50,
    max_docs: Annotated[int, typer.Option(help="source documents listed per span")] = 10,
    seed_tokens: Annotated[int | None, typer.Option(
        help="shortest match used to find near-verbatim passages (default min(16, "
             "min-tokens))")] = None,
    works: Annotated[int, typer.Option(help="source works compared in detail")] = 10,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    html: Annotated[Path | None, typer.Option(help="also write an HTML closeness report")] = None,
    tokenizer: Annotated[str | None, TOKENIZER_OPT] = None,
    token_dtype: Annotated[str | None, DTYPE_OPT] = None,
) -> None:
    """How close is a text to the indexed corpus, and to which works? Exact verbatim spans
    (each occurs exactly COUNT times), per-work share and near-verbatim similarity, a verdict."""
    from regurgitate.closeness import closeness, report_to_dict

    if min_tokens < 1 or max_docs < 1 or works < 0:
        raise ConfigError("--min-tokens and --max-docs must be >= 1, --works >= 0")
    # fail on a bad index before reading the input
    idx = open_any_index(index, tokenizer, token_dtype)
    text = _read_text(file)
    report = closeness(idx, text, min_tokens=min_tokens, seed_tokens=seed_tokens,
                       max_docs=max(max_docs, 100), top_works=works)
    data = report_to_dict(report, idx, text)
    counts = [_count_label(s, unit=index_unit(idx.info)) for s in data["spans"]]
    for span in data["spans"]:  # the listing honours --max-docs; counts stay exact
        for part in (span, span["window"] or {}):
            for key in ("documents", "doc_ids", "sources"):
                if key in part:
                    part[key] = part[key][:max_docs]
    if html is not None:
        from regurgitate.reports.closeness_html import write_closeness_html

        write_closeness_html(data, text, html, index=str(index))
    if json_out:
        data["index"] = str(index)
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    _print(data, text, min_tokens, max_docs, html, index_unit(idx.info), counts)


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
    if len(text) <= ECHO_LIMIT:
        regions = [(r["start"], r["end"]) for r in data["coverage"]]
        out.print(highlighted(text, regions, "bold black on yellow"))
        out.print()
    out.print(f"[bold]{len(spans)}[/] verbatim span(s) of >= {min_tokens} {unit}, covering "
              f"{data['covered_chars']:,} of {data['chars']:,} characters "
              f"({100 * data['covered_share']:.1f}%)")
    if spans:
        t = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
        t.add_column("#", justify="right")
        t.add_column("Chars", no_wrap=True)
        t.add_column(unit.capitalize(), justify="right")
        t.add_column("Count", overflow="fold", min_width=12)
        t.add_column("Source", overflow="fold", min_width=24)
        for n, s in enumerate(spans, 1):
            names = ", ".join(_short(d) for d in s["sources"])
            if s["count"] > len(s["sources"]) and len(s["sources"]) >= max_docs:
                names += f" (first {max_docs})"
            t.add_row(str(n), f"{s['start']}-{s['end']}", str(s["tokens"]),
                      Text(counts[n - 1]), Text(names))
        out.print(t)
    if data["works"]:
        t = Table(title="Closest works", title_justify="left", title_style="bold",
                  box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
        t.add_column("Source", overflow="fold", min_width=20)
        t.add_column("Verbatim", justify="right")
        t.add_column("Longest", justify="right")
        t.add_column("Edit sim.", justify="right")
        t.add_column("ROUGE-L", justify="right")
        t.add_column("LCS", justify="right")
        for w in data["works"]:
            label = _short(w["name"]) + (f" — {_short(w['title'], 30)}" if w["title"] else "")
            t.add_row(Text(label), f"{100 * w['verbatim_share']:.1f}%",
                      str(w["longest_span_tokens"]),
                      "–" if w["edit_similarity"] is None else f"{w['edit_similarity']:.3f}",
                      "–" if w["rouge_l"] is None else f"{w['rouge_l']:.3f}",
                      "–" if w["lcs_chars"] is None else f"{w['lcs_chars']:,}")
        out.print(t)
    out.print(Text("verdict: " + visible(data["verdict"]), style="bold"))
    out.print(f"[dim]{data['tokens']:,} {unit} checked in {data['seconds']:.2f} s[/]")
    if html is not None:
        out.print(f"report: {escape(visible(str(html)))}")
