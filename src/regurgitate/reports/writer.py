"""The one writer of a run's outputs: the terminal summary, and the HTML report when a path is
given, with the text or the image sections as the run's modality asks (``scan`` and
``report`` both call :func:`write_outputs`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from regurgitate.store import RunStore


def write_outputs(store: RunStore, console: Console, *, html: Path | None) -> list[Path]:
    """Terminal summary, and the HTML report when a path is given."""
    if store.is_image_run():
        return write_image_outputs(store, console, html=html)
    from regurgitate.reports import compute_summary, load_run, render_summary, write_html_report
    from regurgitate.reports.finding_kinds import finding_kinds, render_kinds

    run = load_run(store)  # type: ignore[arg-type]  # RunStore.spec() may be None
    summary = compute_summary(run)
    render_summary(summary, console)
    render_kinds(finding_kinds(run.items, run.findings), console)  # every kind, plugins' too
    written: list[Path] = []
    if html is not None:
        written.append(write_html_report(run, html, summary=summary, protect=[store.path]))
    return written


def write_image_outputs(store: RunStore, console: Console, *,
                        html: Path | None) -> list[Path]:
    """The image run's terminal summary, and its HTML report when a path is given."""
    from regurgitate.reports.finding_kinds import finding_kinds, render_kinds
    from regurgitate.reports.image_data import summarize_images
    from regurgitate.reports.image_html import render_image_html
    from regurgitate.reports.image_terminal import render_image_summary
    from regurgitate.safe_paths import write_text_atomically

    summary = summarize_images(store)
    render_image_summary(summary, console)
    render_kinds(finding_kinds(store.generations(ok_only=False), store.findings()), console)
    if html is None:
        return []
    # never over the run database (or any SQLite file), never through a symlink, atomic
    write_text_atomically(html, render_image_html(store, summary, title=store.path.stem),
                          protect=[store.path], what="report")
    return [html]
