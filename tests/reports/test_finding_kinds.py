"""Every finding kind, even one whose package is not installed, in the terminal table and the
HTML section, with model text escaped."""

from __future__ import annotations

import io

from rich.console import Console

from regurgitate.findings import DivergedOutput, Finding, UnknownPayload
from regurgitate.reports.finding_kinds import finding_kinds, kinds_html, render_kinds
from regurgitate.types import Generation, GenerationSettings, Item, Prompt


def _item(gid: int, attack: str) -> Item:
    prompt = Prompt(id=f"{attack}:{gid}", attack=attack, text="x", settings=GenerationSettings())
    return Item(gid, prompt, Generation(prompt_id=prompt.id, text="y"))


def test_unknown_and_built_in_kinds_are_counted_per_attack_and_escaped() -> None:
    items = [_item(1, "a"), _item(2, "b"), _item(3, "b")]
    hostile = UnknownPayload(stored_kind="shout", stored_version=1,
                             data={"word": "<script>alert(1)</script>\u202e"})
    findings = [Finding(1, "shout", hostile), Finding(2, "shout", hostile),
                Finding(3, "divergence", DivergedOutput(word="w", repeats=3, diverged_chars=9))]
    kinds = finding_kinds(items, findings)
    assert [(k.kind, k.per_attack, k.total) for k in kinds] == [
        ("divergence", {"b": 1}, 1), ("shout", {"a": 1, "b": 1}, 2)]
    assert not kinds[1].installed

    buf = io.StringIO()
    render_kinds(kinds, Console(file=buf, width=160))
    text = buf.getvalue()
    assert "shout (not installed here)" in text and "divergence" in text

    page = kinds_html(kinds)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "\u202e" not in page  # the bidi override is shown as a marker, not applied
    assert 'id="kind-shout"' in page and "diverged_chars" in page
