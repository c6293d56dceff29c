"""A run whose every untrusted string is a script-injection attempt.

If any payload executed in a browser it would change ``document.title`` to ``PWNED``, set a
``data-pwned`` attribute on ``<body>`` or append a ``<pwned>`` element.
"""

from __future__ import annotations

from regurgitate.findings import (
    DivergedOutput,
    Finding,
    NearVerbatimMatch,
    PIIHit,
    SourcePassage,
    VerbatimSpan,
)
from regurgitate.reports import RunData
from regurgitate.types import RunSpec

from .runs import item

TITLE = "document.title='PWNED'"
PAYLOADS = (
    f"<script>{TITLE}</script>",
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">",
    "</textarea></pre></mark><script>document.documentElement.appendChild("
    "document.createElement('pwned'))</script>",
    f"\"><svg onload=\"{TITLE}\">",
    f"javascript:{TITLE}",
    f"' onmouseover='{TITLE}' x='",
    "{{ 7*7 }} {% raw %} ${7*7}",
    f"<iframe srcdoc=\"<script>parent.{TITLE}</script>\"></iframe>",
    f"<style>body{{display:none}}</style><base href=\"javascript:{TITLE}//\">",
)
EVIL = " ".join(PAYLOADS)
MARKER = "MEMORIZED-MARKER"


def evil_run() -> RunData:
    span = f"{MARKER} {PAYLOADS[0]} {PAYLOADS[1]}"
    text = f"start {PAYLOADS[3]} then {span} and {PAYLOADS[2]} then {PAYLOADS[4]} {EVIL}"
    s = text.index(span)
    t2 = f"poem poem poem {EVIL} mail {PAYLOADS[5]}@x.org"
    p = t2.index(PAYLOADS[5])
    findings = [
        Finding(1, "verbatim", VerbatimSpan(
                    tokens=64, count=2, documents=(1,), text=span,
                    sources=(SourcePassage(doc_id=1, name=f"docs/{PAYLOADS[3]}.txt",
                                           before=PAYLOADS[1], match=span, after=PAYLOADS[2]),)),
                s, s + len(span), 64.0),
        # an overlapping PII span crossing the verbatim span's end
        Finding(1, "pii", PIIHit(type=PAYLOADS[5], value=PAYLOADS[4], in_verbatim=True),
                s + len(span) - 5, s + len(span) + 10, None),
        Finding(2, "divergence", DivergedOutput(word=PAYLOADS[0], repeats=3,
                                                diverged_chars=len(t2) - 15),
                15, len(t2), None),
        Finding(2, "pii", PIIHit(type="EMAIL_ADDRESS", value=PAYLOADS[5], in_verbatim=False),
                p, p + len(PAYLOADS[5]), None),
        Finding(3, "near_verbatim", NearVerbatimMatch(
                    doc_id=4, name=PAYLOADS[6] + PAYLOADS[7], source_text=EVIL,
                    generated_text=EVIL, edit_similarity=0.93, lcs_chars=10, rouge_l=0.9,
                    tokens=60, near_verbatim=True), 0, 20, 0.93),
    ]
    items = [
        item(1, "corpus_prompts", text, 300, prompt=EVIL),
        item(2, f"divergence{PAYLOADS[5]}", t2, 200, prompt=PAYLOADS[2]),
        item(3, "corpus_prompts", EVIL, 100, prompt=PAYLOADS[8]),
        item(4, "corpus_prompts", EVIL, 100, prompt=EVIL),  # no findings
    ]
    spec = RunSpec(target=f"hf:{PAYLOADS[0]}", attacks=("corpus_prompts",
                                                        f"divergence{PAYLOADS[5]}"),
                   index=PAYLOADS[1], settings={}, tool_version=PAYLOADS[4])
    return RunData(spec=spec, items=items, findings=findings,
                   index_info={"name": "x", PAYLOADS[3]: PAYLOADS[7]},
                   extra={"started_at": PAYLOADS[8]})
