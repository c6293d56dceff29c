"""Every finding kind of a run, built-in or a plugin's, in every output: counts per attack and
a headline figure for the terminal, and a section per kind (its fields per generation) for the
HTML report. A payload class may declare its ``report_label``, ``headline`` and
``report_fields`` (:class:`regurgitate.findings.Payload`); one that declares nothing, or whose
package is not installed here (an :class:`~regurgitate.findings.UnknownPayload`), gets the
default view of its stored fields. All model and corpus text is escaped where shown."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup
from rich.console import Console
from rich.table import Table
from rich.text import Text

from regurgitate.findings import Finding, Payload, UnknownPayload
from regurgitate.types import Item
from regurgitate.untrusted import marked, visible

__all__ = ["KindExample", "KindFigures", "finding_kinds", "kinds_html", "render_kinds",
           "with_kinds_section"]

#: findings of one kind shown per HTML section, and characters per field value
MAX_EXAMPLES = 50
MAX_VALUE_CHARS = 300


@dataclass(frozen=True)
class KindExample:
    """One finding as the HTML section shows it."""

    generation_id: int
    attack: str
    prompt_id: str
    detector: str
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class KindFigures:
    """One finding kind in a run: ``total`` findings in ``generations`` generations,
    ``per_attack`` their count by the attack of the generation, the payload's ``headline``
    (None: it declares none), and the first :data:`MAX_EXAMPLES` findings."""

    kind: str
    label: str
    detectors: tuple[str, ...]
    total: int
    generations: int
    per_attack: dict[str, int]
    headline: str | None
    installed: bool
    examples: tuple[KindExample, ...]


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                            default=str)
    text = visible(text)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…"


def _fields(payload: Payload) -> tuple[tuple[str, str], ...]:
    try:
        shown = payload.report_fields()
    except Exception as exc:  # a plugin's hook must not lose the report
        shown = {"(report_fields failed)": f"{type(exc).__name__}: {exc}"}
    return tuple((str(k), _value(v)) for k, v in shown.items())


def _headline(cls: type[Payload], payloads: Sequence[Payload]) -> str | None:
    try:
        return cls.headline(payloads)
    except Exception as exc:  # a plugin's hook must not lose the report
        return f"(headline failed: {type(exc).__name__})"


def finding_kinds(items: Iterable[Item], findings: Iterable[Finding]) -> list[KindFigures]:
    """Every kind among ``findings`` (in kind order), with counts per attack of ``items``."""
    where = {it.generation_id: (it.prompt.attack, it.prompt.id) for it in items}
    by_kind: dict[str, list[Finding]] = {}
    for f in findings:
        by_kind.setdefault(f.kind, []).append(f)
    out: list[KindFigures] = []
    for kind in sorted(by_kind):
        found = by_kind[kind]
        payload_cls = type(found[0].payload)
        installed = not isinstance(found[0].payload, UnknownPayload)
        per_attack: dict[str, int] = {}
        for f in found:
            attack = where.get(f.generation_id, ("?", ""))[0]
            per_attack[attack] = per_attack.get(attack, 0) + 1
        examples = tuple(
            KindExample(f.generation_id, *where.get(f.generation_id, ("?", "?")), f.detector,
                        _fields(f.payload)) for f in found[:MAX_EXAMPLES])
        out.append(KindFigures(
            kind=kind, label=payload_cls.label() if installed else kind,
            detectors=tuple(sorted({f.detector for f in found})), total=len(found),
            generations=len({f.generation_id for f in found}), per_attack=per_attack,
            headline=_headline(payload_cls, [f.payload for f in found]) if installed else None,
            installed=installed, examples=examples))
    return out


def render_kinds(kinds: Sequence[KindFigures], console: Console) -> None:
    """The terminal table: one row per finding kind with its count, the generations it is in
    and its count under each attack; the detector and headline columns appear only where some
    kind has something to put there (a terminal is 80 columns wide)."""
    if not kinds:
        return
    show_detector = any(k.detectors != (k.kind,) for k in kinds)
    show_headline = any(k.headline for k in kinds)
    table = Table(title="Finding kinds (findings per attack)", title_justify="left",
                  expand=False)
    table.add_column("kind", overflow="fold")
    if show_detector:
        table.add_column("detector", overflow="fold")
    table.add_column("findings", justify="right")
    table.add_column("gens", justify="right")
    table.add_column("by attack", overflow="fold")
    if show_headline:
        table.add_column("headline", overflow="fold")
    for k in kinds:
        label = k.label if k.label == k.kind else f"{k.label} ({k.kind})"
        if not k.installed:
            label += " (not installed here)"
        by_attack = ", ".join(f"{a} {n:,}" for a, n in sorted(k.per_attack.items()) if n)
        row: list[Any] = [Text(visible(label))]
        if show_detector:
            row.append(Text(visible(", ".join(k.detectors))))
        row += [f"{k.total:,}", f"{k.generations:,}", Text(visible(by_attack or "–"))]
        if show_headline:
            row.append(Text(visible(k.headline or "–")))
        table.add_row(*row)
    console.print(table)


def _finalize(value: Any) -> Any:
    """Every ``{{ }}``: control, bidi and invisible characters become visible markers."""
    return marked(value) if isinstance(value, str) and not isinstance(value, Markup) else value


_SECTION = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                              finalize=_finalize).from_string(
    """<section id="finding-kinds"><h2>Finding kinds</h2>
<p>Every kind of finding in this run, from built-in and plugin detectors alike; the first
{{ max }} findings of each kind with their fields (values cut at {{ chars }} characters).</p>
{% for k in kinds %}<details class="finding-kind" id="kind-{{ k.kind }}"><summary>
<strong>{{ k.label }}</strong>{% if k.label != k.kind %} ({{ k.kind }}){% endif %}:
{{ "{:,}".format(k.total) }} finding{{ "" if k.total == 1 else "s" }} in
{{ "{:,}".format(k.generations) }} generation{{ "" if k.generations == 1 else "s" }}
(detector {{ k.detectors | join(", ") }}){% if k.headline %}; {{ k.headline }}{% endif %}
{% if not k.installed %} (its package is not installed here: fields as stored){% endif %}
</summary>
<table><thead><tr><th>generation</th><th>attack</th><th>prompt</th><th>fields</th></tr></thead>
<tbody>{% for e in k.examples %}<tr><td>{{ e.generation_id }}</td><td>{{ e.attack }}</td>
<td>{{ e.prompt_id }}</td><td>{% for name, value in e.fields %}<div><code>{{ name }}</code>:
{{ value }}</div>{% endfor %}</td></tr>{% endfor %}</tbody></table>
{% if k.total > k.examples | length %}<p>{{ k.total - k.examples | length }} more not
shown (all are in the exports: regurgitate export RUN).</p>{% endif %}
</details>{% endfor %}</section>
""")


def kinds_html(kinds: Sequence[KindFigures]) -> str:
    """The HTML section (escaped by Jinja2's autoescape); empty without findings."""
    if not kinds:
        return ""
    return _SECTION.render(kinds=kinds, max=MAX_EXAMPLES, chars=MAX_VALUE_CHARS)


def with_kinds_section(html: str, kinds: Sequence[KindFigures]) -> str:
    """``html`` (a whole report) with the finding-kinds section at the end of its main part."""
    section = kinds_html(kinds)
    if not section:
        return html
    cut = html.rfind("</main>")
    cut = cut if cut >= 0 else html.rfind("</body>")
    return html[:cut] + section + html[cut:] if cut >= 0 else html + section
