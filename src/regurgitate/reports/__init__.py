"""Reports: figures of a run, terminal tables, a self-contained HTML report, plots.

Reports work on plain records (:class:`RunData`); :func:`load_run` reads them from a run store.
"""

from __future__ import annotations

from regurgitate.reports.text_data import RunData, load_run
from regurgitate.reports.text_html import ReportLimits, render_html, write_html_report
from regurgitate.reports.text_memorized import Extrapolation, MemorizedSequence
from regurgitate.reports.text_summary import (
    AttackSummary,
    Summary,
    compute_summary,
    summary_to_dict,
)
from regurgitate.reports.text_terminal import render_summary

__all__ = [
    "AttackSummary",
    "Extrapolation",
    "MemorizedSequence",
    "ReportLimits",
    "RunData",
    "Summary",
    "compute_summary",
    "load_run",
    "render_html",
    "render_summary",
    "summary_to_dict",
    "write_html_report",
]
