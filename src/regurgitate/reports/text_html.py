"""One self-contained HTML report: inline CSS and SVG, no external resources.

Everything that comes from the model, the prompts or the corpus reaches the page only as
Jinja2-escaped text (``autoescape=True``), with control, bidi and invisible characters shown
as visible markers (:mod:`regurgitate.untrusted`; a right-to-left override never reverses
text) and long unbroken strings wrapped; the only strings marked safe are the SVG plots
(built here from numbers and sanitised labels) and the fixed filter script, whose hash is
in the Content-Security-Policy.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from regurgitate.errors import ConfigError
from regurgitate.findings import (
    DiscoverableProbe,
    DivergedOutput,
    Finding,
    NearVerbatimMatch,
    PIIHit,
    SourcePassage,
    VerbatimSpan,
)
from regurgitate.reports.polish import index_rows, timestamp
from regurgitate.reports.segments import Annotation, Segment, segment
from regurgitate.reports.text_data import RunData
from regurgitate.reports.text_summary import Summary, compute_summary
from regurgitate.safe_paths import check_output_path, write_text_atomically
from regurgitate.types import Item
from regurgitate.untrusted import html_visible, marked
from regurgitate.version import __version__

FLAG_KINDS = ("verbatim", "near_verbatim", "pii", "divergence", "discoverable")

# Filters generations by attack / kind. Touches only the ``hidden`` property and reads
# data-* attributes; never writes HTML.
FILTER_SCRIPT = """
(function () {
  var a = document.getElementById('f-attack'), k = document.getElementById('f-kind');
  if (!a || !k) { return; }
  function apply() {
    var gens = document.querySelectorAll('article.gen');
    for (var i = 0; i < gens.length; i++) {
      var g = gens[i], kinds = (g.getAttribute('data-kinds') || '').split(' ');
      g.hidden = (a.value !== '' && g.getAttribute('data-attack') !== a.value) ||
                 (k.value !== '' && kinds.indexOf(k.value) < 0);
    }
  }
  a.addEventListener('change', apply); k.addEventListener('change', apply);
  document.getElementById('filters').hidden = false;
})();
"""


@dataclass(frozen=True)
class ReportLimits:
    """Caps on what the report renders; what is left out is counted in the report."""

    max_flagged: int = 200
    max_unflagged: int = 10
    max_sequences: int = 25
    max_chars: int = 20_000  # per generation text and per prompt shown
    max_sources_per_span: int = 3

    def __post_init__(self) -> None:
        for name in ("max_flagged", "max_unflagged", "max_sequences", "max_chars",
                     "max_sources_per_span"):
            if getattr(self, name) < 0:
                raise ConfigError(f"report limit {name} must be >= 0")


@dataclass
class _Source:
    anchor: str
    number: int
    tokens: int
    count: int
    name: str
    before: str
    match: str
    after: str
    title: str = ""
    url: str = ""  # http(s) only (see ``_safe_url``); shown as a rel=noopener link
    #: the span's most repeated window, in words (first source of a span only)
    window: str = ""


@dataclass
class _GenView:
    id: int
    anchor: str
    attack: str
    prompt: str
    prompt_cut: bool
    segments: list[Segment]
    text_cut: bool
    kinds: list[str]
    tokens: int | None
    finish_reason: str | None
    error: str | None
    sources: list[_Source] = field(default_factory=list)
    near: list[dict[str, Any]] = field(default_factory=list)
    discoverable: list[dict[str, Any]] = field(default_factory=list)
    pii: list[dict[str, Any]] = field(default_factory=list)
    divergence: list[dict[str, Any]] = field(default_factory=list)
    longest: int = 0
    #: max_tokens actually sent, when the target cut it below the prompt's max_new_tokens
    cut_to: int | None = None


def _finalize(value: Any) -> Any:
    """Every ``{{ }}`` of the template: control, bidi and invisible characters of a plain
    string become visible ``⟨U+XXXX⟩`` markers (then Jinja2 escapes it as usual)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return marked(value)
    return value


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("regurgitate.reports", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters["visible"] = html_visible  # text bodies: styled markers for controls
    env.filters["pct"] = lambda v, d=1: "–" if v is None else f"{100 * v:.{d}f}%"
    env.filters["num"] = lambda v: "–" if v is None else (
        f"{v:,}" if isinstance(v, int) else f"{v:,.1f}")
    env.filters["ts"] = timestamp  # one timestamp format everywhere
    return env


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def _safe_url(url: object) -> str:
    """``url`` when it is an http(s) URL, else "" (never a javascript:/data: link)."""
    from urllib.parse import urlsplit

    if not isinstance(url, str):
        return ""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""
    return url.strip() if scheme in ("http", "https") else ""


def _cut(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit], True)


def _kinds(fs: list[Finding]) -> list[str]:
    kinds = []
    for k in FLAG_KINDS:
        hits = [f for f in fs if f.kind == k]
        if k == "near_verbatim":
            hits = [f for f in hits if (m := f.payload_as(NearVerbatimMatch)) and m.near_verbatim]
        if k == "discoverable":
            hits = [f for f in hits if (p := f.payload_as(DiscoverableProbe)) and p.exact]
        if hits:
            kinds.append(k)
    return kinds


def _gen_view(item: Item, fs: list[Finding], limits: ReportLimits,
              unit: str = "tokens") -> _GenView:
    gid = item.generation_id
    text, text_cut = _cut(item.generation.text, limits.max_chars)
    prompt, prompt_cut = _cut(item.prompt.as_text(), limits.max_chars)
    anns: list[Annotation] = []
    points: list[tuple[int, str]] = []
    view = _GenView(
        id=gid, anchor=f"g{gid}", attack=item.prompt.attack, prompt=prompt,
        prompt_cut=prompt_cut, segments=[], text_cut=text_cut, kinds=_kinds(fs),
        tokens=item.generation.completion_tokens, finish_reason=item.generation.finish_reason,
        error=item.generation.error,
        cut_to=(item.generation.max_tokens if item.generation.max_tokens is not None
                and item.generation.max_tokens < item.prompt.settings.max_new_tokens else None),
    )
    verbatim = sorted(((f, span) for f in fs if (span := f.payload_as(VerbatimSpan))),
                      key=lambda pair: pair[0].start or 0)
    for i, (f, span) in enumerate(verbatim, start=1):
        tokens = span.tokens
        count = span.count
        view.longest = max(view.longest, tokens)
        anchor = f"s{gid}-{i}"
        window = window_words(span)
        if f.start is not None and f.end is not None:
            anns.append(Annotation(f.start, f.end, "verbatim",
                                   label=f"verbatim: {tokens} {unit}, {count}× in corpus"
                                   + (f"; {window}" if window else "")
                                   + (f"; periodic run of {span.run.spans:,} such spans, "
                                      f"one every {span.run.period_chars:,} characters"
                                      if span.run is not None else ""),
                                   tag=str(i), ref=anchor))
        srcs: list[SourcePassage | None] = list(span.sources[: limits.max_sources_per_span])
        if not srcs:
            srcs = [SourcePassage(doc_id=d) for d in span.documents[:1]] or [None]
        for src in srcs:
            name = src.name if src is not None else None
            if name is None:
                name = f"doc {src.doc_id}" if src is not None else "unknown"
            view.sources.append(_Source(
                anchor=anchor, number=i, tokens=tokens, count=count, name=str(name),
                before=src.before if src else "", after=src.after if src else "",
                match=(src.match if src else "") or span.text,
                title=(src.title or "") if src else "",
                url=_safe_url(src.url) if src else "",
                window=window if anchor else "",
            ))
            anchor = ""  # only the first source of a span carries the anchor
    for f in fs:
        if pii := f.payload_as(PIIHit):
            kind = pii.type or "PII"
            leaked = pii.leaked
            view.pii.append({"type": kind, "value": pii.value, "leaked": leaked,
                             "in_span": pii.in_verbatim, "count": pii.corpus_count,
                             "luhn_valid": pii.luhn_valid, "sources": list(pii.sources[:3])})
            if f.start is not None and f.end is not None:
                anns.append(Annotation(f.start, f.end, "pii-leaked" if leaked else "pii",
                                       label=f"PII: {kind}", tag=kind))
        elif div := f.payload_as(DivergedOutput):
            view.divergence.append(div.to_json())
            if f.start is not None:
                end = f.end if f.end is not None else len(text)
                anns.append(Annotation(f.start, end, "diverged", label="diverged output"))
                points.append((f.start, "diverged"))
        elif (near := f.payload_as(NearVerbatimMatch)) and near.near_verbatim:
            view.near.append(dict(near.to_json(), score=f.score))
            if f.start is not None and f.end is not None:
                anns.append(Annotation(f.start, f.end, "near",
                                       label=f"near-verbatim, edit similarity {f.score or 0:.2f}"))
        elif probe := f.payload_as(DiscoverableProbe):
            view.discoverable.append(dict(probe.to_json(), score=f.score))
    view.segments = segment(text, anns, points)
    return view


def window_words(span: VerbatimSpan) -> str:
    """'its most repeated 50-token window 100× in corpus (ref-00000 +99)', '' without one."""
    win = span.window
    if win is None:
        return ""
    where = ""
    if win.sources:
        more = len(win.documents) - 1
        where = f" ({win.sources[0]}{f' +{more:,}' if more else ''})"
    return f"its most repeated {win.tokens}-token window {win.count:,}× in corpus{where}"


def _select(
    run: RunData, limits: ReportLimits, unit: str = "tokens"
) -> tuple[list[_GenView], list[_GenView], dict[str, int]]:
    """Flagged generations (longest span first) and a sample of the others, both capped."""
    by_gen: dict[int, list[Finding]] = defaultdict(list)
    for f in run.findings:
        by_gen[f.generation_id].append(f)
    flagged: list[tuple[Item, list[Finding]]] = []
    other: list[tuple[Item, list[Finding]]] = []
    for it in sorted(run.items, key=lambda it: it.generation_id):
        fs = by_gen.get(it.generation_id, [])
        (flagged if _kinds(fs) else other).append((it, fs))
    def rank(pair: tuple[Item, list[Finding]]) -> tuple[int, int, int]:
        it, fs = pair
        longest = max((span.tokens for f in fs if (span := f.payload_as(VerbatimSpan))),
                      default=0)
        return (-longest, -len(_kinds(fs)), it.generation_id)

    flagged.sort(key=rank)
    shown_flagged = [_gen_view(it, fs, limits, unit) for it, fs in flagged[: limits.max_flagged]]
    ok_other = [(it, fs) for it, fs in other if it.generation.ok]
    shown_other = [_gen_view(it, fs, limits, unit) for it, fs in ok_other[: limits.max_unflagged]]
    omitted = {
        "flagged": len(flagged) - len(shown_flagged),
        "unflagged": len(ok_other) - len(shown_other),
        "failed": len(other) - len(ok_other),
        "cut_texts": sum(v.text_cut for v in shown_flagged + shown_other),
    }
    return shown_flagged, shown_other, omitted


def _plots(run: RunData, summary: Summary) -> dict[str, str | None]:
    from regurgitate.reports import plots  # matplotlib is only loaded for HTML reports

    verbatim = [span for f in run.findings if (span := f.payload_as(VerbatimSpan))]
    lengths = [span.tokens for span in verbatim]
    counts = [span.count for span in verbatim]
    ex = summary.extrapolation
    return {
        "lengths": plots.span_length_svg(lengths),
        "discovery": plots.discovery_svg(
            list(summary.curve) if verbatim else [],
            ex.projections if ex else None, ex.estimated_total if ex else None,
            ex.unit if ex else "sequences"),
        "corpus": plots.corpus_count_svg(lengths, counts),
        "attacks": plots.attack_comparison_svg(
            [a.attack for a in summary.attacks], [a.verbatim_rate for a in summary.attacks],
            [a.memorized_token_rate for a in summary.attacks]) if len(summary.attacks) > 1
        else None,
    }


def render_html(
    run: RunData, summary: Summary | None = None, limits: ReportLimits | None = None,
    now: datetime | None = None,
) -> str:
    """The report as a string (see :func:`write_html_report`)."""
    limits = limits or ReportLimits()
    summary = summary or compute_summary(run)
    gens, others, omitted = _select(run, limits, summary.unit)
    script = FILTER_SCRIPT
    from regurgitate.reports.finding_kinds import finding_kinds, with_kinds_section

    return with_kinds_section(_env().get_template("report.html.j2").render(
        run=run, spec=run.spec, s=summary, o=summary.overall, gens=gens, others=others,
        omitted=omitted, limits=limits, plots=_plots(run, summary), csp=_csp(script), script=script,
        version=__version__, generated=timestamp(now or datetime.now(UTC)),
        index_info=run.index_info or {}, index_rows=index_rows(run.index_info),
        extra=run.extra, kinds=FLAG_KINDS,
        sequences=summary.sequences[: limits.max_sequences],
        min_tokens=run.spec.settings.get("min_tokens", 50), **_divergence_context(summary),
    ), finding_kinds(run.items, run.findings))


def _divergence_context(summary: Summary) -> dict[str, Any]:
    """What the divergence partial (templates/divergence.html.j2) needs."""
    from regurgitate.reports.text_divergence_view import pieces, ratio_line

    return {"divs": [(div, ratio_line(div)) for div in summary.divergences],
            "div_pieces": pieces}


def write_html_report(
    run: RunData, out: Path, summary: Summary | None = None,
    limits: ReportLimits | None = None, *, protect: Iterable[Path] = (),
) -> Path:
    """Write the self-contained HTML report of ``run`` to ``out`` and return ``out``.

    Missing folders are created; the file is written atomically and never over a run
    database (``protect`` names the run's own; see :mod:`regurgitate.safe_paths`)."""
    out = Path(out)
    if out.parent.is_dir():  # refuse before the (slow) rendering
        check_output_path(out, protect=protect, what="report")
    html = render_html(run, summary, limits)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {out}: {exc.strerror}") from exc
    return write_text_atomically(out, html, protect=protect, what="report")
