"""The closeness report (``regurgitate check --html``) as one self-contained HTML page.

Every string from the text, the corpus or its metadata is escaped with :func:`html.escape`;
links are written only for ``http``/``https`` URLs, with ``rel="noopener noreferrer"``. The
page has no script and a Content-Security-Policy that forbids all of them. The file is
written next to its destination and renamed into place.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from regurgitate.reports.check_terminal import rouge_text, work_groups
from regurgitate.safe_paths import check_output_path, write_text_atomically
from regurgitate.version import __version__

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
#: texts longer than this are shown only around their spans
FULL_TEXT_LIMIT = 200_000

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;
color:#111827}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
.verdict{font-weight:600;padding:.75rem 1rem;background:#fef3c7;border-left:4px solid #b45309}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .6rem;
border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.text{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:13px;
background:#f9fafb;padding:1rem;border:1px solid #e5e7eb}
mark{background:#fde68a}.mono{font-family:ui-monospace,monospace}
.dim{color:#6b7280}
"""


def safe_link(url: str | None, label: str) -> str:
    """An escaped ``<a>`` for http(s) URLs; any other scheme gives the escaped label only."""
    if url:
        try:
            scheme = urlsplit(url.strip()).scheme.lower()
        except ValueError:
            scheme = ""
        if scheme in ("http", "https"):
            return (f'<a href="{escape(url.strip(), quote=True)}" rel="noopener noreferrer" '
                    f'target="_blank">{escape(label)}</a>')
    return escape(label)


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def _listed(data: dict[str, Any]) -> str:
    listed, found = len(data["works"]), data.get("candidate_works", len(data["works"]))
    if found <= listed:
        return ""
    return (f"The {listed} closest of {found} works that share such a match are compared "
            "(<span class=\"mono\">--works</span> compares more).")


def _marked_text(text: str, coverage: list[dict[str, int]]) -> str:
    """The text with the (disjoint, sorted) coverage regions in ``<mark>``, all escaped."""
    parts: list[str] = []
    at = 0
    for r in coverage:
        s, e = max(at, int(r["start"])), min(len(text), int(r["end"]))
        if e <= s:
            continue
        parts += [escape(text[at:s]), f"<mark>{escape(text[s:e])}</mark>"]
        at = e
    parts.append(escape(text[at:]))
    return "".join(parts)


def _window_cell(win: dict[str, Any] | None, unit: str = "tokens") -> str:
    """A span's most repeated window: its count, offset and first sources, escaped."""
    if not win:
        return "–"
    names = win.get("sources") or []
    more = f" +{len(names) - 1}" if len(names) > 1 else ""
    where = f'<br><span class="mono">{escape(names[0])}{more}</span>' if names else ""
    return (f'{win["count"]:,} <span class="dim">({win["tokens"]} {unit}, +{win["offset"]} '
            f"into the span)</span>{where}")


def render_closeness_html(data: dict[str, Any], text: str, *, index: str) -> str:
    """The page for a :func:`regurgitate.check.closeness.report_to_dict` result."""
    unit = data.get("unit", "tokens")  # what every length counts: tokens or bytes
    rows = []
    for n, s in enumerate(data["spans"], 1):
        rows.append(
            f'<tr><td class="n">{n}</td><td class="n">{s["start"]}–{s["end"]}</td>'
            f'<td class="n">{s["tokens"]}</td><td class="n">{s["count"]:,}</td>'
            f'<td class="n">{_window_cell(s.get("window"), unit)}</td>'
            f'<td class="mono">{escape(", ".join(s["sources"]))}</td>'
            f'<td class="mono">{escape(s["text"][:300])}{"…" if len(s["text"]) > 300 else ""}'
            "</td></tr>")
    for n, r in enumerate(data.get("runs", []), len(rows) + 1):
        period = r["unit"]
        rows.append(
            f'<tr><td class="n">{n}</td><td class="n">{r["start"]}–{r["end"]}</td>'
            f'<td class="n">{r["span_tokens"]} × {r["spans"]:,}</td>'
            f'<td class="n">{r["count"]:,}</td>'
            f'<td class="n">{_window_cell(r["span"].get("window"), unit)}</td>'
            f'<td class="mono">{escape(", ".join(r["sources"]))}</td>'
            f'<td class="mono">periodic run: {r["spans"]:,} spans, one every '
            f'{r["period_chars"]:,} characters, each {r["span_chars"]:,} characters of '
            f'“{escape(period[:300])}{"…" if len(period) > 300 else ""}” repeated</td></tr>')
    works = []
    for w, more in work_groups(data["works"]):
        label = safe_link(w.get("url"), w["name"])
        if w.get("title"):
            label += f' <span class="dim">{escape(w["title"])}</span>'
        if more:
            same = [o["name"] for o in data["works"] if o.get("same_as") == w["name"]]
            label += (f'<details><summary class="dim">+{more}, same '
                      f'{"passage" if w["passage_chars"] else "figures"}</summary>'
                      f'{escape(", ".join(same))}</details>')
        passage = (f'{w["passage_tokens"]:,} {unit}, {w["passage_chars"]:,} chars'
                   if w["passage_chars"] else "–")
        works.append(
            f'<tr><td class="mono">{label}</td><td class="n">{_pct(w["aligned_share"])}</td>'
            f'<td class="n">{escape(rouge_text(w))}</td>'
            f'<td class="n">{_pct(w["verbatim_share"])}</td>'
            f'<td class="n">{w["longest_span_tokens"]}</td><td class="n">{passage}</td>'
            f'<td class="n">{_f(w["edit_similarity"])}</td><td class="n">{_f(w["rouge_l"])}'
            f'</td><td class="n">{w["lcs_chars"] if w["lcs_chars"] is not None else "–"}</td>'
            "</tr>")
    if len(text) <= FULL_TEXT_LIMIT:
        body = _marked_text(text, data["coverage"])
        text_note = ""
    else:
        body = escape(text[:FULL_TEXT_LIMIT])
        text_note = (f'<p class="dim">The first {FULL_TEXT_LIMIT:,} of {len(text):,} '
                     "characters are shown, unmarked; the spans above list the rest.</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Closeness report</title><style>{STYLE}</style></head><body>
<h1>Closeness report</h1>
<p class="verdict">{escape(data["verdict"])}</p>
<p>{data["chars"]:,} characters ({data["tokens"]:,} {unit}) checked against
<span class="mono">{escape(index)}</span> in {data["seconds"]:.2f} s;
{data["covered_chars"]:,} characters ({_pct(data["covered_share"])}) lie in
{data.get("span_count", len(data["spans"])):,} exact span(s) of at least
{data["min_tokens"]} {unit} (a periodic run stands for many equal spans, one per period).
Each span occurs exactly <em>count</em> times in the corpus; overlapping spans are listed
separately and the share counts their union. A span's count is that of its rarest stretch;
its most repeated window (of {data["min_tokens"]} {unit}, the one occurring most often) shows
how often the passage it is built around occurs, and where.</p>
<h2>Closest works</h2>
<p class="dim">Whole text: <em>Matched</em> is the share of the text's characters that passages
aligned to the work match character for character (each passage grown from an exact match of
at least {data.get("seed_tokens", "–")} {unit});
<em>Text ROUGE-L</em> compares the whole text with the work's window of the same length that
matches it best (CopyBench's literal-copy measure); <em>Verbatim</em> is the share inside exact
spans of at least {data["min_tokens"]} {unit}. Longest passage only: edit similarity
(normalized Levenshtein), ROUGE-L (words) and longest common substring (characters) hold over
that passage, whose length is given; they say nothing of the rest of the text.
{_listed(data)}</p>
<table><thead><tr><th>Source</th><th class="n">Matched</th><th class="n">Text ROUGE-L</th>
<th class="n">Verbatim</th><th class="n">Longest span ({unit})</th>
<th class="n">Longest passage</th><th class="n">Edit sim.</th><th class="n">ROUGE-L</th>
<th class="n">LCS (chars)</th></tr></thead><tbody>{"".join(works)}</tbody></table>
<details{" open" if len(rows) <= 50 else ""}><summary><strong>Verbatim spans
({len(rows)})</strong></summary>
<table><thead><tr><th class="n">#</th><th class="n">Chars</th><th class="n">{unit.capitalize()}</th>
<th class="n">Count</th><th class="n">Most repeated window</th><th>Sources</th><th>Text</th>
</tr></thead>
<tbody>{"".join(rows)}</tbody></table></details>
<details{" open" if len(text) <= 20_000 else ""}><summary><strong>Text</strong> (verbatim
spans marked)</summary>{text_note}<div class="text">{body}</div></details>
<p class="dim">regurgitate {escape(__version__)}</p>
</body></html>
"""


def write_closeness_html(data: dict[str, Any], text: str, path: Path, *, index: str) -> Path:
    """Write the page to ``path`` (via a temporary file renamed into place)."""
    path = check_output_path(Path(path), what="closeness report")  # refuse before rendering
    return write_text_atomically(path, render_closeness_html(data, text, index=index),
                                 what="closeness report")
