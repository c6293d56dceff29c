"""A run whose model and corpus text holds control, bidi and invisible characters and very
long unbroken strings (issue 9, item 6)."""

from __future__ import annotations

from regurgitate.findings import Finding, PIIHit, SourcePassage, VerbatimSpan
from regurgitate.reports import RunData
from regurgitate.types import RunSpec

from .runs import item

RLO = "\u202e"
ANSI = "\x1b[2J\x1b[31m"
LONG = "A" * 6000
#: shown reversed by a browser if the override reached the page
REVERSED = f"user {RLO}gnp.exe"
SPAN = f"memorized {REVERSED} text with NUL\x00 and {ANSI}colour"


def hostile_run() -> RunData:
    text = f"start {SPAN} then {LONG} end \u200b\u2066zero\u2069 width"
    s = text.index(SPAN)
    findings = [
        Finding(1, "verbatim", VerbatimSpan(
            tokens=64, count=2, text=SPAN, documents=(1,),
            sources=(SourcePassage(doc_id=1, name=f"docs/{RLO}txt.exe{LONG[:300]}",
                                   before=ANSI + LONG, match=SPAN, after=RLO),)),
            s, s + len(SPAN), 64.0),
        Finding(1, "pii", PIIHit(type=f"EMAIL{ANSI}", value=f"{RLO}moc.x@y", in_verbatim=True),
                s, s + 9, None),
    ]
    items = [
        item(1, f"corpus{RLO}prompts", text, 300, prompt=f"say {REVERSED} {LONG}"),
        item(2, "corpus\x1bprompts", LONG + LONG, 100, prompt=LONG),
        item(3, "divergence", "", None, error=f"HTTP 500: {ANSI}{RLO}boom{LONG}"),
    ]
    spec = RunSpec(target=f"openai:http://h/v1?model={RLO}evil{ANSI}",
                   attacks=(f"corpus{RLO}prompts", "corpus\x1bprompts", "divergence"),
                   index="idx", settings={"min_tokens": 50})
    return RunData(spec=spec, items=items, findings=findings,
                   index_info={"name": "idx", "dtype": "u16"})
