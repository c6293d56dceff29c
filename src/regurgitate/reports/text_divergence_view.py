"""Terminal and HTML sections for :mod:`regurgitate.reports.text_divergence` figures.

Model text reaches the terminal only as rich ``Text`` and the page only through the escaped
Jinja2 partial ``templates/divergence.html.j2``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from regurgitate.reports.text_divergence import DivergedOutput, DivergenceFigures
from regurgitate.untrusted import visible


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:,.1f}"


def ratio_line(fig: DivergenceFigures) -> str:
    """The headline comparison with ordinary use, in words."""
    if fig.baseline is None:
        return "no baseline of ordinary prompts in this run"
    if fig.ratio is not None:
        return (f"memorized text {fig.ratio:,.1f}x as often as ordinary prompts "
                f"(per 1,000 generated tokens, same run, same settings)")
    if fig.attack.memorized_tokens:
        return (f"ordinary prompts emitted no memorized text in {fig.baseline.outputs} outputs "
                f"({fig.baseline.generated_tokens:,} tokens); the attack did")
    return "neither the attack nor ordinary prompts emitted memorized text"


@dataclass(frozen=True)
class Piece:
    """A piece of a diverged output for display: ``kind`` is repeat, diverged or memorized."""

    text: str
    kind: str


def pieces(d: DivergedOutput, max_chars: int = 4000) -> list[Piece]:
    """The output cut into repetition / diverged text / memorized spans (after the point)."""
    text = d.text[: max(max_chars, d.point)]
    rep_end = min([d.point, *(s.start for s in d.spans_after)])
    out = [Piece(text[:rep_end], "repeat")]
    pos = rep_end
    for s in d.spans_after:
        if s.start >= len(text):
            break
        if s.start > pos:
            out.append(Piece(text[pos:s.start], "diverged"))
        start = max(pos, s.start)
        out.append(Piece(text[start:min(s.end, len(text))], "memorized"))
        pos = max(pos, min(s.end, len(text)))
    if pos < len(text):
        out.append(Piece(text[pos:], "diverged"))
    return [p for p in out if p.text]


def _flat(text: str, limit: int) -> str:
    flat = visible(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def figures_table(fig: DivergenceFigures) -> Table:
    # attack names come from plugins and stored runs: shown as plain, visible text
    title = Text("Divergence (repeat a word vs. ordinary prompts)"
                 if fig.attack_name == "divergence" else
                 f"Divergence: {visible(fig.attack_name)} "
                 f"({visible(fig.label).lower()} vs. ordinary prompts)")
    t = Table(title=title, title_justify="left",
              title_style="bold", box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    t.add_column("Figure")
    t.add_column(Text(visible(fig.label)), justify="right")
    t.add_column("Baseline", justify="right")
    a, b = fig.attack, fig.baseline
    rows = [
        ("Outputs", f"{a.outputs:,}", f"{b.outputs:,}" if b else "–"),
        ("Diverged", f"{_pct(fig.divergence_rate)} ({len(fig.diverged)})", "–"),
        ("Diverged with a verbatim span after the point",
         f"{_pct(fig.span_after_rate)} ({fig.diverged_with_span_after})", "–"),
        *((f"  of those with {b.label} repeats before the point",
           f"{_pct(b.rate)} ({b.with_span_after} of {b.diverged})", "–")
          for b in fig.by_repeats),
        ("Outputs with a verbatim span", f"{_pct(a.with_span_rate)} ({a.with_span})",
         f"{_pct(b.with_span_rate)} ({b.with_span})" if b else "–"),
        ("Memorized tokens per 1,000 generated", _num(a.per_1000),
         _num(b.per_1000) if b else "–"),
        ("Unique memorized sequences", f"{a.unique_sequences:,}",
         f"{b.unique_sequences:,}" if b else "–"),
        ("Generated tokens", f"{a.generated_tokens:,}", f"{b.generated_tokens:,}" if b else "–"),
    ]
    for row in rows:
        t.add_row(*row)
    t.caption = ratio_line(fig)
    t.caption_justify = "left"
    return t


def render_divergence(fig: DivergenceFigures, console: Console, excerpts: int = 3) -> None:
    """The figures table, then every diverged output: how many times it repeated before the
    point, the point, and each verbatim span after it with its sources; the ``excerpts``
    that leaked most also get a line of their text after the point."""
    console.print(figures_table(fig))
    width = max(40, console.width - 6)
    for n, d in enumerate(fig.diverged):
        head = Text(f"  {visible(d.prompt_id)}: '", style="bold")
        head.append(visible(d.word[:40]))
        head.append(f"' x{d.repeats} before the point, diverged at character {d.point:,}",
                    style="bold")
        if not d.spans_after:
            head.append("; no verbatim span after it")
        console.print(head)
        if n < excerpts:
            console.print(Text("    " + _flat(d.text[d.point:], width), style="dim"))
        for s in d.spans_after:
            window = (f" (its most repeated {s.window_tokens}-token window {s.window_count}x)"
                      if s.window_count is not None and s.window_count > s.count else "")
            line = Text(f"    memorized at character {s.start:,}: {s.tokens} tokens, "
                        f"{s.count}x in corpus{window}, from ")
            line.append(visible(", ".join(s.sources)) or "?")
            console.print(line)
