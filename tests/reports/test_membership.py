"""Membership signals judged against the verbatim ground truth of the same run."""

from __future__ import annotations

import pytest

from regurgitate.findings import Finding, MembershipSignals
from regurgitate.reports import RunData, compute_summary
from regurgitate.reports.text_membership import membership_view
from regurgitate.types import RunSpec

from .runs import item, verbatim


def _membership(gid: int, loss: float, min_k: float) -> Finding:
    return Finding(generation_id=gid, detector="membership",
                   payload=MembershipSignals(loss=loss, zlib=loss / 100, min_k=min_k,
                                             min_k_plus_plus=None))


def _run() -> RunData:
    # generations 1-3 are memorized (low loss), 4-6 are not; min_k agrees except for one tie
    texts = {g: f"text number {g} " * 8 for g in range(1, 7)}
    items = [item(g, "sample-rank", texts[g], 40) for g in range(1, 7)]
    findings = [verbatim(g, texts[g], texts[g][:40], 55) for g in (1, 2, 3)]
    findings += [_membership(1, 0.5, -1.0), _membership(2, 0.7, -1.5), _membership(3, 2.5, -2.0),
                 _membership(4, 2.0, -3.0), _membership(5, 3.0, -4.0), _membership(6, 3.5, -5.0)]
    return RunData(spec=RunSpec(target="t", attacks=("sample-rank",), index=None),
                   items=items, findings=findings)


def test_signal_auc_uses_verbatim_as_labels_and_orientation_of_each_signal() -> None:
    view = membership_view(_run(), top=3)
    assert view is not None
    quality = {q.signal: q for q in view.signals}
    # loss: lower = member; 3 members vs 3 others, one inversion (2.5 > 2.0) of 9 pairs
    assert quality["loss"].auc == pytest.approx(8 / 9)
    assert quality["min_k"].auc == pytest.approx(1.0)  # higher = member, perfectly ordered
    assert "min_k_plus_plus" not in quality  # no values: not scored
    assert quality["loss"].memorized == 3 and quality["loss"].generations == 6


def test_top_candidates_are_ranked_by_the_attack_signal_with_precision() -> None:
    run = _run()
    view = membership_view(run, top=3)
    assert view.rank_by == "zlib"
    assert [c.generation_id for c in view.candidates] == [1, 2, 4]
    assert view.precision_at_top == pytest.approx(2 / 3)
    assert compute_summary(run).membership == view.__class__(
        view.signals, view.rank_by, membership_view(run).candidates, 0.5)


def test_no_membership_findings_means_no_view() -> None:
    run = _run()
    bare = RunData(spec=run.spec, items=run.items,
                   findings=[f for f in run.findings if f.kind != "membership"])
    assert membership_view(bare) is None


def _shifted_run() -> RunData:
    """Memorized generations carry a boilerplate line the others lack: the text alone tells
    them apart, so the loss's perfect AUC is no evidence."""
    texts = {g: (f"Copyright notice, all rights reserved. item {g} " if g <= 8 else
                 f"plain words about the weather, number {g} ") * 3 for g in range(1, 17)}
    items = [item(g, "sample-rank", texts[g], 40) for g in texts]
    findings = [verbatim(g, texts[g], texts[g][:40], 55) for g in range(1, 9)]
    findings += [_membership(g, 0.5 + g / 100 if g <= 8 else 3.0 + g / 100, -1.0)
                 for g in texts]
    return RunData(spec=RunSpec(target="t", attacks=("sample-rank",), index=None),
                   items=items, findings=findings)


def test_blind_baseline_beside_every_auc_and_a_warning_when_it_reaches_one() -> None:
    import io

    from rich.console import Console

    from regurgitate.reports import render_summary
    from regurgitate.reports.text_html import render_html

    run = _shifted_run()
    view = membership_view(run)
    assert view is not None and view.blind_auc is not None and view.blind_auc > 0.9
    assert {q.signal for q in view.signals} >= {"loss", "zlib"}
    assert any(w.startswith("loss: AUC 1.000") and "not evidence" in w for w in view.warnings)
    buf = io.StringIO()
    render_summary(compute_summary(run), Console(file=buf, width=100, color_system=None))
    out = buf.getvalue()
    assert "Blind AUC" in out and "warning: the text alone separates this split" in out
    assert "not evidence of membership" in " ".join(out.split())
    page = render_html(run)
    assert "Blind AUC" in page and "not evidence of membership" in page
    # a fair split (the same boilerplate everywhere): the blind baseline is near chance
    fair = membership_view(_run())
    assert fair is not None and fair.blind_auc is None  # 3 memorized: too few to fold
