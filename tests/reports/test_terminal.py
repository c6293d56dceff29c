from __future__ import annotations

import io

from rich.console import Console

from regurgitate.reports import compute_summary, render_summary

from .payloads import evil_run
from .runs import demo_run


def render(run, width: int = 100, terminal: bool = False) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=terminal, color_system=None
                      if not terminal else "standard", legacy_windows=False)
    render_summary(compute_summary(run), console)
    return buf.getvalue()


def test_plain_console_fits_100_columns():
    out = render(demo_run())
    assert "\x1b[" not in out  # no escape codes in a non-TTY console
    assert max(len(line) for line in out.splitlines()) <= 100
    for expected in ("Overview", "Per attack", "Personal information",
                     "Top memorized sequences (4 of 4)", "Extrapolation",
                     "50.0% (3)", "33.53% (285)", "EMAIL_ADDRESS", "books/hobbit.txt",
                     "corpus_prompts", "all attacks", "too few to estimate"):
        assert expected in out, expected


def test_per_attack_rows():
    lines = render(demo_run()).splitlines()
    row = next(line for line in lines if line.strip().startswith("divergence"))
    assert row.split()[1:] == ["3", "1", "450", "50.0%", "15.6%", "1", "70", "50.0%"]


def test_terminal_colours_when_a_tty():
    assert "\x1b[" in render(demo_run(), terminal=True)


def test_model_text_is_not_rich_markup():
    run = evil_run()
    bad = "[bold red]x[/] [/nope] [link=http://evil]y[/link]"
    items = [*run.items]
    from dataclasses import replace

    from regurgitate.findings import Finding, SourcePassage, VerbatimSpan

    f = Finding(4, "verbatim", VerbatimSpan(tokens=55, count=1, text=bad,
                                            sources=(SourcePassage(doc_id=0, name=bad),)),
                0, 10, 55.0)
    out = render(replace(run, items=items, findings=[*run.findings, f]), width=160)
    assert "[bold red]x[/]" in out  # printed literally, no markup error


def test_narrow_console_degrades():
    out = render(demo_run(), width=60)
    assert max(len(line) for line in out.splitlines()) <= 60


def test_figures_a_scan_could_not_compute_are_named():
    from dataclasses import replace

    run = demo_run()
    assert "not computed" not in render(run)
    run = replace(run, extra={**run.extra, "not_computed": [
        {"figure": "(n,p) extraction", "reason": "no model to score with", "executor": "ray"}]})
    assert "not computed: (n,p) extraction: no model to score with (executor ray)" in \
        " ".join(render(run, width=200).split())
