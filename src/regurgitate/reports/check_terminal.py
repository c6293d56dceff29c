"""The "Closest works" table of ``regurgitate check`` for the terminal.

One row per group of works with the same figures (``ref-00000 +9, same passage``). The
text-level figures come first (share of the text its aligned passages match, text ROUGE-L
against the work's best window of the same length, share in verbatim spans); the passage
figures follow, headed by the passage's length, so a similarity is never shown without the
length it holds over. Names and titles from the corpus are shown as ``Text`` with control
characters escaped.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from regurgitate.untrusted import visible


def short_label(name: str, limit: int = 40) -> str:
    """A readable source label: the start and the end of a long id, never just a prefix."""
    flat = visible(" ".join(name.split()))
    if len(flat) <= limit:
        return flat
    keep = (limit - 1) // 2
    return flat[:keep] + "…" + flat[-(limit - 1 - keep):]


def work_groups(works: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """(first work, how many more have the same figures) in the works' order."""
    more: dict[str, int] = {}
    for w in works:
        if w.get("same_as"):
            more[w["same_as"]] = more.get(w["same_as"], 0) + 1
    return [(w, more.get(w["name"], 0)) for w in works if not w.get("same_as")]


def work_label(w: dict[str, Any], more: int, *, limit: int = 40) -> str:
    label = short_label(w["name"], limit)
    if w.get("title"):
        label += f" — {short_label(w['title'], 30)}"
    if more:
        label += f" +{more}, same passage" if w["passage_chars"] else f" +{more}, same figures"
    return label


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def rouge_text(w: dict[str, Any]) -> str:
    """The text-level ROUGE-L, marked when it is a lower bound (sampled windows)."""
    return ("≥ " if not w["text_rouge_l_exact"] else "") + f"{w['text_rouge_l']:.3f}"


def passage_length(w: dict[str, Any], unit: str) -> str:
    if not w["passage_chars"]:
        return "–"
    return f"{w['passage_tokens']:,} {UNIT_ABBREV.get(unit, unit)}"


#: short unit names for the Passage column
UNIT_ABBREV = {"tokens": "tok", "bytes": "B"}

#: what the columns mean, printed under the table
LEGEND = ("Matched: share of the text's characters that passages aligned to the work match. "
          "Text R-L: ROUGE-L of the whole text against the work's best window of the same "
          "length. Edit sim, R-L and LCS (characters) are of the longest passage alone; "
          "Passage is its length.")


def works_title(data: dict[str, Any], unit: str) -> str:
    listed, found = len(data["works"]), data.get("candidate_works", len(data["works"]))
    if found <= listed:
        return "Closest works"
    return f"Closest works ({listed} of {found} sharing >= {data['seed_tokens']} {unit})"


def works_table(data: dict[str, Any], unit: str) -> Table:
    """The table for a :func:`regurgitate.check.closeness.report_to_dict` result (print
    :data:`LEGEND` with it)."""
    t = Table(title=works_title(data, unit), title_justify="left", title_style="bold",
              box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False,
              collapse_padding=True)
    t.add_column("Source", overflow="fold", min_width=14)
    t.add_column("Matched", justify="right")
    t.add_column("Text R-L", justify="right")
    t.add_column("Verbatim", justify="right")
    t.add_column("Passage", justify="right", no_wrap=True)
    t.add_column("Edit sim", justify="right")
    t.add_column("R-L", justify="right")
    t.add_column("LCS", justify="right")
    for w, more in work_groups(data["works"]):
        t.add_row(Text(work_label(w, more)), _pct(w["aligned_share"]), rouge_text(w),
                  _pct(w["verbatim_share"]), passage_length(w, unit),
                  _f(w["edit_similarity"]), _f(w["rouge_l"]),
                  "–" if w["lcs_chars"] is None else f"{w['lcs_chars']:,}")
    return t
