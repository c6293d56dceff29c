"""Sample-size honesty (issue 41): an AUC from one memorized output of 20 is "too few", with
an interval above the minimum; an extrapolation from a single memorized span is not an
estimate and never a key figure; a membership section without rows prints no empty table."""

from __future__ import annotations

import io

from rich.console import Console

from regurgitate.reports import compute_summary
from regurgitate.reports.text_html import render_html
from regurgitate.reports.text_membership import MIN_PER_CLASS, MembershipView, SignalQuality
from regurgitate.reports.text_terminal import render_summary

from .runs import demo_run


def test_an_auc_from_too_few_memorized_outputs_is_not_a_figure() -> None:
    one = SignalQuality("zlib", 1.0, 1.0, generations=20, memorized=1)
    assert not one.enough and one.ci is None
    assert one.auc_text() == "too few (1 memorized)"
    many = SignalQuality("zlib", 0.8, 0.1, generations=60, memorized=MIN_PER_CLASS * 2)
    lo, hi = many.ci or (0, 0)
    assert lo < 0.8 < hi and many.auc_text().startswith("0.800 (")


def test_a_noise_dominated_estimate_is_not_a_key_figure_and_says_too_few() -> None:
    run = demo_run()  # four memorized sequences: below the minimum of five
    s = compute_summary(run)
    assert s.extrapolation is not None and s.extrapolation_too_few() is not None
    assert not s.extrapolation_key_figure
    page = render_html(run, s)
    assert "estimated total unique" not in page  # the key-figure card
    assert "too few to estimate" in page
    buf = io.StringIO()
    render_summary(s, Console(file=buf, width=120, color_system=None))
    assert "Estimated total" not in buf.getvalue()


def test_a_membership_section_without_rows_prints_no_empty_table() -> None:
    from dataclasses import replace

    from regurgitate.reports.text_terminal import _membership

    s = compute_summary(demo_run())
    from rich.table import Table

    from regurgitate.reports.text_membership import Candidate

    view = MembershipView(signals=(), rank_by="zlib",
                          candidates=(Candidate(1, "sample-rank", 0.5, False, "text"),),
                          precision_at_top=0.0)
    shown = _membership(replace(s, membership=view))
    assert shown is not None and not isinstance(shown, Table)  # the line, no empty table
    table = _membership(replace(s, membership=replace(
        view, signals=(SignalQuality("zlib", 1.0, 1.0, 20, 1),))))
    buf = io.StringIO()
    Console(file=buf, width=120, color_system=None).print(table)
    assert "too few (1 memorized)" in buf.getvalue()
