"""Rich tables for the terminal. Model and corpus text is passed as ``Text`` (never markup),
with control characters shown as escapes (:func:`regurgitate.untrusted.visible`)."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from regurgitate.reports.text_memorized import Extrapolation
from regurgitate.reports.text_summary import NP_SAMPLES, AttackSummary, Summary
from regurgitate.untrusted import visible

NOT_CHECKED = "not checked"


def _pct(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{100 * v:.{digits}f}%"


def _n(v: int | float | None) -> str:
    if v is None:
        return "–"
    return f"{v:,}" if isinstance(v, int) else f"{v:,.1f}"


def _one_line(text: str, limit: int) -> Text:
    flat = visible(" ".join(text.split()))
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return Text(flat)


def _table(title: str) -> Table:
    return Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                 header_style="bold", pad_edge=False, expand=False)


def _overview(s: AttackSummary, summary: Summary) -> Table:
    t = _table("Overview")
    t.add_column("Figure")
    t.add_column("Value", justify="right")
    unit = summary.unit
    checked = summary.corpus_checked
    rows = [
        ("Generations (ok / failed)", f"{_n(s.ok)} / {_n(s.failed)}"),
        ("Generated tokens", "unknown" if s.generated_tokens is None else _n(s.generated_tokens)),
        ("Generations with a verbatim span",
         f"{_pct(s.verbatim_rate)} ({_n(s.with_verbatim)})" if checked else NOT_CHECKED),
        (f"Generated {unit} memorized",
         f"{_pct(s.memorized_token_rate, 2)} ({_n(s.memorized_tokens)})" if checked
         else NOT_CHECKED),
        ("Unique memorized sequences", _n(s.unique_sequences) if checked else NOT_CHECKED),
        *([(f"Unique memorized {summary.ngram_length}-grams", _n(summary.unique_ngrams))]
          if checked and summary.unique_ngrams is not None else []),
        (f"Longest span ({unit})", _n(s.longest_span_tokens) if checked else NOT_CHECKED),
        ("Near-verbatim generations (passages)",
         f"{_n(s.near_verbatim)} ({_n(s.near_verbatim_passages)})" if checked else NOT_CHECKED),
    ]
    if s.discoverable_probes:
        rows.append(("Discoverable exact matches",
                     f"{_pct(s.discoverable_exact_rate)} ({_n(s.discoverable_exact)} of "
                     f"{_n(s.discoverable_probes)})"))
    if s.np_probes:
        rows.append((f"(n,p) >= 90% within {NP_SAMPLES} samples, {s.np_sampling}",
                     f"{_n(s.np_likely)} of {_n(s.np_probes)}"))
        rows.append(("(n,p) median p", f"{s.np_median_p:.2g}"))
    if s.diverged_generations:
        rows.append(("Diverged generations",
                     f"{_pct(s.divergence_rate)} ({_n(s.diverged_chars)} chars)"))
    rows.append(("PII leaked / possibly invented",
                 f"{sum(s.pii_leaked.values())} / {sum(s.pii_elsewhere.values())}"))
    for k, v in rows:
        t.add_row(k, v)
    return t


def _per_attack(summary: Summary) -> Table:
    t = _table("Per attack")
    longest_name = max((len(a.attack) for a in (*summary.attacks, summary.overall)), default=6)
    t.add_column("Attack", no_wrap=True, overflow="ellipsis", min_width=min(longest_name, 16))
    # short headers so the table fits 80 columns: generations, failed, generated tokens,
    # generations with a verbatim span, tokens inside spans, unique sequences, longest span
    # (tokens),
    # diverged generations
    # the memorized column counts the index's unit: bytes of a byte-level index, not tokens
    mem = "Mem.B" if summary.unit == "bytes" else "Mem.tok"
    for name in ("Gens", "Fail", "Tokens", "w/span", mem, "Uniq", "Max", "Div"):
        t.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    for i, a in enumerate((*summary.attacks, summary.overall)):
        ck = summary.corpus_checked  # without an index nothing was checked: "–", not 0%
        t.add_row(Text(visible(a.attack)), _n(a.generations), _n(a.failed),
                  _n(a.generated_tokens), _pct(a.verbatim_rate if ck else None),
                  _pct(a.memorized_token_rate if ck else None),
                  _n(a.unique_sequences if ck else None),
                  _n(a.longest_span_tokens if ck else None), _pct(a.divergence_rate),
                  end_section=i == len(summary.attacks) - 1,
                  style="bold" if i == len(summary.attacks) else None)
    return t


def _pii(s: AttackSummary) -> Table:
    t = _table("Personal information")
    t.add_column("Type", overflow="fold")
    t.add_column("Leaked (in corpus)", justify="right")
    t.add_column("of which in a span", justify="right")
    t.add_column("Possibly invented", justify="right")
    for kind in sorted(set(s.pii_leaked) | set(s.pii_elsewhere)):
        t.add_row(Text(visible(kind)), str(s.pii_leaked.get(kind, 0)),
                  str(s.pii_in_span.get(kind, 0)),
                  str(s.pii_elsewhere.get(kind, 0)))
    return t


def _sequences(summary: Summary, top: int, width: int) -> Table:
    t = _table(f"Top memorized sequences ({min(top, len(summary.sequences))} of "
               f"{len(summary.sequences)})")
    t.add_column(summary.unit.capitalize(), justify="right", no_wrap=True, min_width=6)
    t.add_column("Corpus", justify="right", no_wrap=True, min_width=6)
    t.add_column("Window", justify="right", no_wrap=True, min_width=6)
    t.add_column("Gens", justify="right", no_wrap=True, min_width=4)
    t.add_column("Sequence", overflow="ellipsis", no_wrap=True, ratio=3)
    t.add_column("Source", overflow="fold", no_wrap=False, ratio=1, min_width=16)
    text_width = max(20, width - 60)
    shown = summary.sequences[:top]
    for q in shown:
        t.add_row(str(q.tokens), _n(q.corpus_count), _n(q.window_count), str(q.generations),
                  _one_line(q.text, text_width), Text(source_label(q.sources)))
    sizes = sorted({q.window_tokens for q in shown if q.window_tokens is not None})
    if sizes:
        size = "/".join(str(n) for n in sizes)
        unit = summary.unit[:-1] if summary.unit.endswith("s") else summary.unit
        t.caption = (f"Corpus: occurrences of the whole sequence (its rarest stretch). Window: "
                     f"of its most repeated {size}-{unit} window, the passage it is built "
                     "around.")
        t.caption_justify = "left"
    return t


def _middle(name: str, limit: int) -> str:
    """A long name shortened in the middle, so both its start and its end (a path's file
    name, an id's distinctive tail) stay readable; control characters shown as escapes."""
    flat = visible(" ".join(name.split()))
    if len(flat) <= limit:
        return flat
    keep = (limit - 1) // 2
    return flat[:keep] + "…" + flat[-(limit - 1 - keep):]


def source_label(sources: tuple[str, ...] | list[str], limit: int = 28) -> str:
    """The first source (shortened in the middle) and how many more: '–' when none."""
    if not sources:
        return "–"
    more = f" +{len(sources) - 1}" if len(sources) > 1 else ""
    return _middle(sources[0], limit - len(more)) + more


def _extrapolation(summary: Summary) -> Table | None:
    ex = summary.extrapolation
    if ex is None:
        return None
    t = _table("Extrapolation")
    t.caption = f"{ex.method}, from {ex.sample_count:,} generations"
    t.caption_justify = "left"
    t.add_column("Figure")
    t.add_column("Value", justify="right")
    t.add_row(f"Observed unique {ex.unit}", f"{ex.observed:,}")
    interval = f" (95% {ex.interval[0]:,.1f}–{ex.interval[1]:,.1f})" if ex.interval else ""
    t.add_row("Estimated total (Chao1, lower bound)", _n(ex.estimated_total) + interval)
    t.add_row("Sample coverage", _pct(ex.coverage))
    lower = ex.lower_projections if ex.projection != "Chao1-anchored" else {}
    for k, v in sorted(ex.projections.items()):
        low = f" (Chao1-anchored {lower[k]:,.1f})" if k in lower else ""
        t.add_row(f"Expected seen after {k}x more generations", f"{v:,.1f}{low}")
    t.caption += extrapolation_meaning(ex)
    return t


def extrapolation_meaning(ex: Extrapolation) -> str:
    """What the extrapolation table's figures mean, for its unit and projection."""
    what = ("distinct memorized sequences (clusters of overlapping spans)"
            if ex.unit == "sequences" else
            f"distinct memorized {ex.unit} (every window of that many tokens inside a "
            "verbatim span; a count that later generations never change)")
    if ex.projection == "Chao1-anchored":
        how = "it approaches the estimated total and never exceeds it"
    else:
        how = (f"by {ex.projection}, which can pass Chao1 (a lower bound); in brackets the "
               "Chao1-anchored curve, which never exceeds it")
    return (f"\nObserved: {what} found so far. Estimated total: Chao1, the least number that "
            "probably exist, from how many were seen once or twice. Expected seen after Nx: "
            "how many distinct ones N times as many further generations would show, by the "
            f"same model; {how}. Sample coverage: the chance that the next memorized item is "
            "one already seen.")


def _membership(summary: Summary) -> Table | Text | None:
    from regurgitate.reports.text_membership import MIN_PER_CLASS

    view = summary.membership
    if view is None or not (view.signals or view.candidates):
        return None
    t = _table("Membership signals vs. verbatim ground truth")
    t.add_column("Signal", no_wrap=True)
    t.add_column("ROC-AUC (95%)", justify="right", no_wrap=True)
    t.add_column("TPR@1%FPR", justify="right")
    t.add_column("Mem./scored", justify="right", no_wrap=True)
    t.add_column("Blind AUC", justify="right")
    blind = "–" if view.blind_auc is None else f"{view.blind_auc:.3f}"
    for q in view.signals:
        t.add_row(Text(visible(q.signal)), q.auc_text(),
                  _pct(q.tpr_at_1pct_fpr) if q.enough else "–",
                  f"{q.memorized} / {q.generations}", blind)
    lines = []
    if view.precision_at_top is not None:
        lines.append(f"top {len(view.candidates)} by {view.rank_by}: "
                     f"{_pct(view.precision_at_top)} contain a verbatim span")
    if view.signals:
        lines.append("Blind AUC: a classifier of the texts alone (no model) on the same split; "
                     f"an AUC needs at least {MIN_PER_CLASS} memorized and {MIN_PER_CLASS} "
                     "other generations (95%: Hanley-McNeil interval)")
    if view.warnings and view.blind_auc is not None:
        names = ", ".join(w.split(":", 1)[0] for w in view.warnings)
        lines.append(f"warning: the text alone separates this split (blind AUC "
                     f"{view.blind_auc:.3f}); {names} are within 0.05 of it or below, so "
                     "their AUCs here are not evidence of membership")
    if not view.signals:  # no rows: the lines alone, never an empty table
        return Text("\n".join(lines)) if lines else None
    if lines:
        t.caption = "\n".join(lines)
        t.caption_justify = "left"
    return t


def render_summary(summary: Summary, console: Console, top: int = 10) -> None:
    """Print the summary tables; fits 100 columns, plain text when not a terminal."""
    o = summary.overall
    console.print(_overview(o, summary))
    for figure, reason in summary.not_computed:
        console.print(Text(f"not computed: {visible(figure)}: {visible(reason)}",
                           style="yellow"))
    for line in summary.attack_notes:
        console.print(Text(f"note: {visible(line)}", style="yellow"))
    for line, warning in summary.endpoint:
        console.print(Text(f"endpoint: {line}", style="bold yellow" if warning else "dim"))
    if not summary.corpus_checked:
        console.print(Text(
            "No corpus check was done: this scan had no reference index (--index), so no "
            "output was compared with training data. Verbatim and near-verbatim figures are "
            "not measured and PII cannot be told leaked from invented.", style="bold yellow"))
    elif summary.unit != "tokens":
        console.print(Text(f"note: the index (--index) is byte-level: verbatim spans, the "
                           f"threshold, Mem.B and Max count UTF-8 {summary.unit}, not "
                           "model tokens", style="dim"))
    if len(summary.attacks) > 0:
        console.print(_per_attack(summary))
    if o.pii_leaked or o.pii_elsewhere:
        console.print(_pii(o))
    if summary.divergences:
        from regurgitate.reports.text_divergence_view import render_divergence

        for fig in summary.divergences:
            render_divergence(fig, console)
    if summary.sequences:
        console.print(_sequences(summary, top, console.width))
    membership = _membership(summary)
    if membership is not None:
        console.print(membership)
    too_few = summary.extrapolation_too_few()
    if too_few is not None and summary.sequences:
        console.print(Text(f"Extrapolation: {too_few}", style="dim"))
    ex = _extrapolation(summary) if too_few is None else None
    if ex is not None and summary.sequences:
        console.print(ex)
        for caveat in summary.extrapolation.caveats if summary.extrapolation else ():
            console.print(Padding(Text(f"note: {caveat}", style="dim"), (0, 0, 0, 2)))
