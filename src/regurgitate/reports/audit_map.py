"""The map of a work: log10 p of every window along the work, in its own character offsets
(chapters marked where the user gave them).

- :func:`strip_svg`: a one-line strip for the HTML report; the work is cut into ``bins`` equal
  stretches and each is coloured by the largest p of the windows whose suffix covers it;
- :func:`map_png`: a plot for docs and evidence (matplotlib's Agg canvas; pyplot is never
  used): each window's log10 p drawn across its suffix, the thresholds as lines.

Labels are numbers, fixed strings and :func:`~regurgitate.reports.plots.safe_label` text only.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from html import escape

from regurgitate.audit.figures import LOW_THRESHOLD, WindowResult, WorkFigures
from regurgitate.reports.plots import safe_label

#: log10 p drawn for p = 0 (and the bottom of every scale)
FLOOR = -12.0


def log10p(p: float) -> float:
    return max(FLOOR, math.log10(p)) if p > 0 else FLOOR


def colour(p: float, threshold: float) -> str:
    """Grey below p = 0.01, amber from 0.01 to the threshold, red at or above it."""
    if p >= threshold:
        return "#b91c1c"
    if p >= LOW_THRESHOLD:
        return "#f59e0b"
    if p >= 1e-6:
        return "#d1d5db"
    return "#f3f4f6"


def binned(windows: Sequence[WindowResult], chars: int, bins: int) -> list[float | None]:
    """Largest p over the windows covering each of ``bins`` equal stretches (None: none)."""
    out: list[float | None] = [None] * bins
    size = max(chars, 1) / bins
    for w in windows:
        a = int(w.start / size)
        b = max(a + 1, math.ceil(w.end / size))
        for i in range(max(0, a), min(bins, b)):
            cur = out[i]
            out[i] = w.p if cur is None else max(cur, w.p)
    return out


def strip_svg(fig: WorkFigures, *, width: int = 720, height: int = 22, bins: int = 240) -> str:
    """An inline SVG strip of the work (see the module docstring)."""
    chars = max(fig.work.chars, 1)
    cells = binned(fig.windows, chars, bins)
    cw = width / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="strip" width="{width}" '
             f'height="{height + 12}" viewBox="0 0 {width} {height + 12}" role="img" '
             f'aria-label="extraction map">']
    for i, p in enumerate(cells):
        if p is None:
            continue
        a, b = int(i * chars / bins), int((i + 1) * chars / bins)
        parts.append(f'<rect x="{i * cw:.2f}" y="0" width="{cw + 0.05:.2f}" height="{height}" '
                     f'fill="{colour(p, fig.threshold)}"><title>chars {a}-{b}: max p '
                     f'{p:.3g}</title></rect>')
    for ch in fig.work.chapters:
        x = ch.start / chars * width
        parts.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height + 4}" stroke="#111827" '
                     f'stroke-width="1"><title>{escape(safe_label(ch.title, 40))}</title></line>')
    parts.append(f'<text x="0" y="{height + 11}" font-size="9" fill="#6b7280">0</text>'
                 f'<text x="{width}" y="{height + 11}" font-size="9" fill="#6b7280" '
                 f'text-anchor="end">{chars:,} chars</text></svg>')
    return "".join(parts)


def map_png(fig: WorkFigures, *, width: float = 8.0, height: float = 2.6, dpi: int = 110) -> bytes:
    """A PNG of log10 p along the work (see the module docstring)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    f = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(f)
    ax = f.add_subplot(1, 1, 1)
    f.subplots_adjust(left=0.08, right=0.98, bottom=0.2, top=0.85)
    for w in fig.windows:
        y = log10p(w.p)
        shade = colour(w.p, fig.threshold) if w.p >= LOW_THRESHOLD else "#9ca3af"
        ax.plot([w.start, w.end], [y, y], color=shade, linewidth=2.2,
                solid_capstyle="butt")
    ax.axhline(math.log10(fig.threshold), color="#b91c1c", linewidth=0.7, linestyle="--")
    ax.axhline(math.log10(LOW_THRESHOLD), color="#f59e0b", linewidth=0.7, linestyle=":")
    for ch in fig.work.chapters:
        ax.axvline(ch.start, color="#111827", linewidth=0.6)
        ax.text(ch.start, 0.4, safe_label(ch.title, 16), fontsize=6, rotation=0,
                va="bottom", ha="left", color="#111827")
    ax.set_xlim(0, max(fig.work.chars, 1))
    ax.set_ylim(FLOOR - 0.5, 1.0)
    ticks = [FLOOR + 2 * i for i in range(int(-FLOOR // 2) + 1)]
    ax.set_yticks(ticks, [f"{t:g}" if t > FLOOR else f"<={t:g}" for t in ticks])
    ax.set_xlabel("character offset in the work (window suffix)", fontsize=8)
    ax.set_ylabel("log10 p (bottom: p = 0 or below)", fontsize=7)
    ax.tick_params(labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"{safe_label(fig.work.id, 40)}: {fig.extracted_share:.1%} extracted at "
                 f"p >= {fig.threshold:g}, max p {fig.max_p:.3g}", fontsize=9)
    buf = io.BytesIO()
    f.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
