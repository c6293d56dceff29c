"""The audit's report: one row per work ranked by extracted share, then each work's map and
evidence, the method's parameters and what p and near-verbatim recall mean.

Three forms: :func:`audit_json` (the ``--json`` document), :func:`print_audit` (terminal) and
:func:`audit_html` (a self-contained page with one strip per work). Work ids, titles and every
text from works or models are escaped where shown (:mod:`regurgitate.untrusted`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

from regurgitate.audit.figures import LOW_THRESHOLD, WorkFigures
from regurgitate.reports.audit_map import strip_svg
from regurgitate.untrusted import html_visible, visible

P_MEANS = ("p is the probability that one sample from the model, under the stated sampling "
           "scheme and given the window's true prefix, reproduces the next {m} tokens of the "
           "work exactly (hits/n estimates it from n samples where the model gives no "
           "probabilities); a work's extracted share counts the characters of suffixes with "
           "p at or above the threshold.")
RECALL_MEANS = ("Near-verbatim recall is the share of the work's characters covered by long "
                "blocks (at least L tokens, small gaps merged) that the model's free-running "
                "outputs reproduce nearly verbatim, found greedily by longest common "
                "substring.")


def work_json(fig: WorkFigures) -> dict[str, Any]:
    w = fig.work
    out: dict[str, Any] = {
        "id": w.id, "title": w.title, "chars": w.chars,
        "extracted_share": fig.extracted_share, "shares": dict(fig.shares),
        "threshold": fig.threshold, "max_p": fig.max_p,
        "longest_stretch": ({"start": fig.longest.start, "end": fig.longest.end,
                             "chars": fig.longest.chars} if fig.longest else None),
        "windows_measured": len(fig.windows),
        "windows_possible": fig.windows_possible, "tokens": fig.tokens,
        "partial": fig.partial, "too_short": fig.too_short, "coverage": fig.coverage(),
        "chapters": [{"start": c.start, "title": c.title} for c in w.chapters],
        "windows": [x.as_json() for x in fig.windows],
        "evidence": fig.evidence,
    }
    out.update(fig.extra)
    return out


def audit_json(figs: Sequence[WorkFigures], method: Mapping[str, Any],
               sections: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{"works": [...], "method": {...}, **sections}``; ``sections`` are extra top-level
    objects (e.g. a later ``dataset_inference``)."""
    doc: dict[str, Any] = {"works": [work_json(f) for f in figs], "method": dict(method)}
    for key, value in (sections or {}).items():
        if key in doc:
            raise ValueError(f"section {key!r} would replace the audit's own")
        doc[key] = value
    return doc


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _p(x: float) -> str:
    return "0" if x <= 0 else f"{x:.2g}"


def method_lines(method: Mapping[str, Any]) -> list[str]:
    lines = [f"windows: {method['prefix_tokens']}-token prefix + {method['suffix_tokens']}-token "
             f"suffix every {method['stride']} tokens ({method['tokenizer']})"]
    if method.get("samples"):
        lines.append(f"measure: {method['samples']} samples per window under "
                     f"{method['sampling']}; rate = hits / n with Wilson 95% intervals")
    else:
        lines.append(f"measure: exact p under {method['sampling']} (teacher-forced) and "
                     "greedy decoding")
    lines.append(f"threshold: p >= {method['threshold']:g} (also p >= {LOW_THRESHOLD:g} "
                 "and greedy)")
    return lines


def _windows_cell(f: WorkFigures) -> str:
    if f.too_short:
        return "too short"
    if f.windows_possible is None:
        return f"{len(f.windows):,}"
    return f"{len(f.windows):,}/{f.windows_possible:,}"


def print_audit(figs: Sequence[WorkFigures], method: Mapping[str, Any], out: Console) -> None:
    t = method["threshold"]
    windows = any(f.windows for f in figs)
    planned = windows or any(f.windows_possible is not None for f in figs)
    title = "Works, ranked by extracted share" if windows else "Works"
    table = Table(title=title, title_justify="left", box=None, header_style="bold")
    table.add_column("Work", no_wrap=True, min_width=12, max_width=28)
    table.add_column("Chars", justify="right")
    if planned:
        table.add_column("Windows", justify="right")
    if windows:
        for col in (f"p>={t:g}", f"p>={LOW_THRESHOLD:g}", "Greedy", "Longest", "Max p"):
            table.add_column(col, justify="right")
    extra_cols = [k for k in ("recall", "characters") if any(k in f.extra for f in figs)]
    for k in extra_cols:
        table.add_column("Recall" if k == "recall" else "Names", justify="right")
    for f in figs:
        row = [rich_escape(visible(f.work.id)[:28]), f"{f.work.chars:,}"]
        if planned:
            row.append(_windows_cell(f))
        if windows and not f.measured:
            row += ["–"] * 5
        elif windows:
            row += [_pct(f.shares.get(f"p>={t:g}")), _pct(f.shares.get(f"p>={LOW_THRESHOLD:g}")),
                    _pct(f.shares.get("greedy")), f"{f.longest.chars:,}" if f.longest else "0",
                    _p(f.max_p)]
        for k in extra_cols:
            row.append(_extra_cell(f, k))
        table.add_row(*row)
    out.print(table)
    partial = [f for f in figs if f.partial]
    if partial:
        out.print(f"[yellow]partial:[/] {len(partial)} work(s) measured in part (Windows: "
                  "measured/possible, e.g. --max-windows); their shares count only the "
                  "measured windows", soft_wrap=True)
    short = [f for f in figs if f.too_short]
    if short:
        out.print(f"[yellow]too short for one window[/] "
                  f"({method['prefix_tokens'] + method['suffix_tokens']} tokens), not scored: "
                  f"{rich_escape(', '.join(visible(f.work.id) for f in short))}",
                  soft_wrap=True)
    if windows:
        for line in method_lines(method):
            out.print(f"  {rich_escape(line)}")
    flagged = [f.work.id for f in figs if f.extra.get("corpus", {}).get("not_in_index")]
    if flagged:
        out.print(f"[yellow]extractable but not in the index:[/] "
                  f"{rich_escape(', '.join(visible(x) for x in flagged))} (the model saw "
                  "text the index does not hold)", soft_wrap=True)
    if windows:
        out.print(P_MEANS.format(m=method["suffix_tokens"]))
    if "characters" in extra_cols:
        out.print("Names: distinct character names of the work that generations prompted by "
                  "its title reproduce / names known (see --json for the control titles' count)")
    if "recall" in extra_cols:
        out.print(RECALL_MEANS)


def _extra_cell(f: WorkFigures, key: str) -> str:
    val = f.extra.get(key)
    if not isinstance(val, Mapping):
        return "–"
    if key == "recall":
        return _pct(val.get("recall"))
    return f"{val.get('copied', 0)}/{val.get('names', 0)}"


def _measured_html(f: WorkFigures, t: float) -> str:
    """A work's headline in the HTML: its figures with their coverage, or why it has none."""
    if f.too_short:
        return escape(f.coverage())
    if not f.measured:
        return "windows not measured (no extraction figures)"
    part = (f" <span class='flag'>(partial: {escape(f.coverage())} measured; the share "
            "counts only those)</span>" if f.partial else f" ({escape(f.coverage())})")
    return (f"{_pct(f.extracted_share)} extracted at p &ge; {t:g}; longest stretch "
            f"{f.longest.chars if f.longest else 0:,} chars; max p {_p(f.max_p)}{part}")


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:60em;color:#111827}
table{border-collapse:collapse}td,th{padding:.2em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}tr:nth-child(even){background:#f9fafb}
.work{margin-top:1.6em}.ev{font-family:ui-monospace,monospace;font-size:.85em;
white-space:pre-wrap;background:#fef3c7;padding:.3em;margin:.2em 0}.ctl{color:#b91c1c}
.note{color:#6b7280;font-size:.9em}.flag{color:#b45309}"""


def audit_html(figs: Sequence[WorkFigures], method: Mapping[str, Any], *,
               evidence_per_work: int = 5, verdicts: Sequence[str] = ()) -> str:
    """The audit's page; ``verdicts`` are plain sentences shown above the works (e.g. the
    dataset-inference verdict of ``--controls``)."""
    t = method["threshold"]
    windows = any(f.measured for f in figs)
    rows = []
    for i, f in enumerate(figs, 1):
        cells = [f"{f.work.chars:,}", escape(_windows_cell(f))]
        if windows and f.measured:
            cells += [_pct(f.shares.get(f'p>={t:g}')), _pct(f.shares.get(f'p>={LOW_THRESHOLD:g}')),
                      _pct(f.shares.get('greedy')),
                      f"{f.longest.chars if f.longest else 0:,}", _p(f.max_p)]
        elif windows:
            cells += ["&ndash;"] * 5
        rows.append(f"<tr><td>{i}. <a href='#w{i}'>{html_visible(f.work.id)}</a></td>"
                    + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = ["Work", "Chars", "Windows"] + ([f"p&ge;{t:g}", f"p&ge;{LOW_THRESHOLD:g}",
                                            "Greedy", "Longest", "Max p"] if windows else [])
    sections = []
    for i, f in enumerate(figs, 1):
        corpus = f.extra.get("corpus")
        flag = ""
        if isinstance(corpus, Mapping):
            flag = (f"<p class='flag'>{corpus['in_corpus']} of {corpus['extracted_windows']} "
                    "extracted windows occur in the index"
                    + (" &mdash; extractable but absent from the index: the model saw text "
                       "the index does not hold" if corpus.get("not_in_index") else "")
                    + "</p>")
        extra = "".join(f"<p>{escape(k)}: {escape(_extra_cell(f, k))}</p>"
                        for k in ("recall", "characters") if k in f.extra)
        ev = []
        for e in f.evidence[:evidence_per_work]:
            measure = f"hits {e['hits']}/{e['n']}" if "hits" in e else f"p {_p(e['p'])}"
            src = ""
            if "corpus" in e:
                c = e["corpus"]["window"]
                src = f"; corpus count {c['count']}" + (
                    f" ({html_visible(', '.join(c['sources']))})" if c["sources"] else "")
            ev.append(f"<div class='note'>chars {e['start']:,}&ndash;{e['end']:,}: "
                      f"{measure}{src}</div><div class='ev'>{html_visible(e['text'])}</div>")
        more = len(f.evidence) - evidence_per_work
        if more > 0:
            ev.append(f"<p class='note'>and {more} more extracted windows (--json lists all)"
                      "</p>")
        sections.append(
            f"<div class='work' id='w{i}'><h3>{html_visible(f.work.id)} &mdash; "
            f"{html_visible(f.work.title)}</h3>{strip_svg(f)}"
            f"<p>{_measured_html(f, t)}</p>"
            f"{flag}{extra}{''.join(ev)}</div>")
    method_html = "".join(f"<li>{escape(line)}</li>" for line in method_lines(method))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>regurgitate audit</title>"
        f"<style>{_CSS}</style></head><body><h1>Was my work in there?</h1>"
        + "".join(f"<p class='verdict' id='dataset-inference'>{escape(v)}</p>" for v in verdicts)
        + "<table><tr>" + "".join(f"<th>{h}</th>" for h in head)
        + f"</tr>{''.join(rows)}</table>{''.join(sections)}"
        f"<h2>Method</h2><ul>{method_html}</ul>"
        f"<p>{escape(P_MEANS.format(m=method['suffix_tokens']))}</p>"
        f"<p>{escape(RECALL_MEANS)}</p>"
        "<p class='note'>Strip colours: red p &ge; threshold, amber p &ge; 0.01, grey "
        "below; lines mark chapters.</p></body></html>")


