"""Terminal tables of an image run (captions are untrusted: control characters escaped and
passed as ``Text``, never markup, by the text report's helpers)."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from regurgitate.reports.image_data import ImageRunSummary
from regurgitate.reports.image_membership import MiaSummary
from regurgitate.reports.text_terminal import _one_line, _table


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}% ({part:,})" if whole else "–"


def _num(v: float | None, fmt: str = "{:.3f}") -> str:
    return "–" if v is None else fmt.format(v)


def _group(dup: int) -> str:
    return "held out" if dup == 0 else f"{dup}x"


def render_mia(m: MiaSummary, console: Console) -> None:
    """The membership table and the img2img table (nothing when the run has neither)."""
    if m.signals:
        t = _table("Membership signals (planted vs held-out images; higher score = member)")
        t.add_column("Signal")
        for col in ("Members", "Held out", "ROC-AUC", "TPR@1%FPR"):
            t.add_column(col, justify="right")
        t.add_column("Parameters")
        for r in m.signals:
            t.add_row(r.label, f"{r.members:,}", f"{r.nonmembers:,}", _num(r.auc),
                      _num(r.tpr_low, "{:.1%}"), Text(r.params))
        console.print(t)
    if m.img2img:
        t = _table(f"Image-to-image reconstruction (same image: tiled L2 <= {m.threshold:g})")
        t.caption = ("AUC: the distance to the own source (lower = member) as a membership "
                     "signal over all images of that strength")
        for col in ("Strength", "Duplicates", "Images", "Mean dist", "Min dist", "Same image",
                    "AUC"):
            t.add_column(col, justify="right")
        for g in m.img2img:
            t.add_row(f"{g.strength:g}", _group(g.duplicates), f"{g.images:,}",
                      f"{g.mean_distance:.3f}", f"{g.min_distance:.3f}",
                      _pct(g.same, g.images), "" if g.auc is None else f"{g.auc:.3f}")
        console.print(t)
    if m.closest:
        t = _table(f"Closest reconstructions ({len(m.closest)})")
        t.add_column("Source", no_wrap=True)
        t.add_column("Caption", no_wrap=True, overflow="ellipsis")
        for col in ("Duplicates", "Strength", "Distance"):
            t.add_column(col, justify="right")
        for c in m.closest:
            t.add_row(_one_line(c.source_id, 18), _one_line(c.caption, 24), _group(c.duplicates),
                      f"{c.strength:g}", f"{c.distance:.3f}" + (" same" if c.same else ""))
        console.print(t)


def render_image_summary(s: ImageRunSummary, console: Console) -> None:
    t = _table("Overview (images)")
    t.add_column("Figure")
    t.add_column("Value", justify="right")
    t.add_row("Generated images (ok / failed)", f"{s.generations:,} / {s.failed:,}")
    t.add_row("Images per second (generation)", f"{s.images_per_second:.1f}")
    t.add_row(f"Extracted copies (tiled L2 <= {s.threshold:g})", _pct(s.extracted, s.measured))
    t.add_row("Unique training images extracted", f"{s.unique_extracted:,}")
    t.add_row("Held-out images matched", f"{s.heldout_matched:,}")
    t.add_row("Prompts with a clique / members", f"{s.clique_prompts:,} / {s.clique_members:,}")
    if s.sscd_measured:
        t.add_row("Copy-detection similar (> 0.5 / > 0.75)",
                  f"{s.sscd_loose:,} / {s.sscd_strict:,} of {s.sscd_measured:,}")
    console.print(t)
    if s.by_dup:
        d = _table("Extraction by duplication count")
        for col in ("Duplicates", "Images", "Extracted", "Rate", "Generations"):
            d.add_column(col, justify="right")
        for r in s.by_dup:
            d.add_row("held out" if r.count == 0 else f"{r.count}x", f"{r.images:,}",
                      f"{r.extracted:,}", f"{100 * r.rate:.1f}%", f"{r.generations:,}")
        console.print(d)
    if s.captions:
        c = _table(f"Per caption ({min(len(s.captions), 10)} of {len(s.captions)})")
        c.add_column("Caption")
        for col in ("In training", "Gens", "Extracted", "Clique"):
            c.add_column(col, justify="right")
        for row in s.captions[:10]:
            c.add_row(_one_line(row.caption, 40), f"{row.caption_count:,}", f"{row.generations:,}",
                      f"{row.extracted:,}", f"{row.clique:,}" if row.clique else "–")
        console.print(c)
    render_mia(s.mia, console)
