"""Plots as SVG strings (matplotlib object API with the SVG canvas; pyplot is never used).

Labels come only from numbers and fixed strings, or from attack names passed through
:func:`safe_label`, never from model output or corpus text. Each function returns ``None``
when it has nothing to draw.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

ACCENT = "#b45309"  # amber 700, the report's highlight family
BLUE = "#1d4ed8"
GREY = "#6b7280"
_RC: dict[Any, Any] = {
    "svg.fonttype": "none",  # text stays text, styled by the page's font stack
    "svg.hashsalt": "regurgitate",  # deterministic ids
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": GREY,
    "axes.labelcolor": "#111827",
    "xtick.color": "#374151",
    "ytick.color": "#374151",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9 _.,:/+()\-]")


def safe_label(text: str, limit: int = 24) -> str:
    """A plot label from an arbitrary string: a small safe alphabet, at most ``limit`` chars."""
    cleaned = _UNSAFE.sub("?", text)[:limit]
    return cleaned or "?"


def _figure(width: float = 5.2, height: float = 3.0, left: float = 0.6) -> Figure:
    """A figure with fixed margins in inches (constrained layout costs ~0.3 s a plot)."""
    fig = Figure(figsize=(width, height))
    FigureCanvasSVG(fig)
    fig.subplots_adjust(left=left / width, right=1 - 0.15 / width, bottom=0.5 / height,
                        top=1 - 0.35 / height)
    return fig


def _to_svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    start = svg.find("<svg")
    svg = svg[start:]
    # inline in HTML: no namespace URIs or RDF metadata needed (and no URL in the report)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r' xmlns(:xlink)?="[^"]*"', "", svg)
    # scale with the page: drop fixed pt sizes, keep the viewBox
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', svg, count=1)
    return svg.replace("<svg", '<svg role="img" class="plot"', 1)


def span_length_svg(lengths: Sequence[int]) -> str | None:
    """Histogram of verbatim span lengths (tokens)."""
    if not lengths:
        return None
    with matplotlib.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        lo, hi = min(lengths), max(lengths)
        bins = min(30, max(1, hi - lo + 1))
        ax.hist(lengths, bins=bins, color=ACCENT, edgecolor="white", linewidth=0.5)
        ax.set_xlabel("span length (tokens)")
        ax.set_ylabel("verbatim spans")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("Verbatim span lengths", loc="left", fontsize=10)
        return _to_svg(fig)


def discovery_svg(
    curve: Sequence[tuple[int, int]], projections: dict[int, float] | None,
    estimated_total: float | None, unit: str = "sequences",
) -> str | None:
    """Unique memorized ``unit`` vs generations; ``projections[t]`` is the expected number
    seen after ``t * n`` further generations (drawn at ``(1 + t) * n``); ``estimated_total``
    is the Chao1 lower bound."""
    if not curve:
        return None
    with matplotlib.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        xs = [0] + [c[0] for c in curve]
        ys = [0] + [c[1] for c in curve]
        ax.step(xs, ys, where="post", color=ACCENT, linewidth=1.6, label="observed")
        n = xs[-1]
        if projections:
            pts = sorted(((1 + t) * n, v) for t, v in projections.items() if t > 0)
            ax.plot([n] + [p[0] for p in pts], [ys[-1]] + [p[1] for p in pts], "--o",
                    color=BLUE, markersize=3.5, linewidth=1.2, label="projected (expected seen)")
        if estimated_total is not None:
            ax.axhline(estimated_total, color=GREY, linestyle=":", linewidth=1,
                       label=f"estimated total (Chao1) {estimated_total:.1f}")
        ax.set_xlabel("generations")
        ax.set_ylabel(f"unique memorized {unit}")
        ax.set_xlim(left=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0, top=max([*ys, estimated_total or 0.0,
                                       *(projections or {}).values()]) * 1.08 + 1)
        ax.set_title("Discovery curve", loc="left", fontsize=10)
        ax.legend(frameon=False, fontsize=8, loc="lower right")
        return _to_svg(fig)


def corpus_count_svg(lengths: Sequence[int], counts: Sequence[int]) -> str | None:
    """Each verbatim span: its length against how often it occurs in the corpus."""
    if not lengths:
        return None
    with matplotlib.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        ax.scatter([max(c, 1) for c in counts], lengths, s=30, color=ACCENT, alpha=0.75,
                   edgecolors="none")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.set_xlabel("occurrences of the span in the corpus")
        ax.set_ylabel("span length (tokens)")
        ax.set_title("Memorization vs corpus count", loc="left", fontsize=10)
        return _to_svg(fig)


def attack_comparison_svg(
    names: Sequence[str], verbatim_rates: Sequence[float | None],
    token_rates: Sequence[float | None],
) -> str | None:
    """Per attack: share of generations with a verbatim span and share of memorized tokens."""
    if not names:
        return None
    with matplotlib.rc_context(_RC):
        labels = [safe_label(n) for n in names]
        height = 1.3 + 0.45 * len(names) + 0.35
        fig = _figure(5.2, height, left=0.25 + 0.065 * max(map(len, labels)))
        fig.subplots_adjust(top=1 - 0.7 / height)  # room for the legend above the bars
        ax = fig.add_subplot()
        ys = list(range(len(names)))
        v = [100 * (r or 0.0) for r in verbatim_rates]
        t = [100 * (r or 0.0) for r in token_rates]
        ax.barh([y - 0.2 for y in ys], v, height=0.38, color=ACCENT,
                label="generations with a verbatim span")
        ax.barh([y + 0.2 for y in ys], t, height=0.38, color=BLUE,
                label="generated tokens memorized")
        ax.set_yticks(ys, labels)
        ax.invert_yaxis()
        ax.set_xlabel("percent")
        ax.set_xlim(0, max(5.0, *v, *t) * 1.1)
        ax.set_title("Attacks compared", loc="left", fontsize=10, pad=22)
        # above the plotting area, so it can never cover a bar; anchored at the right edge
        # so long attack names (a wide left margin) never push it off the figure
        ax.legend(frameon=False, fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0),
                  ncols=2, borderaxespad=0.2)
        return _to_svg(fig)
