"""Model output and corpus text are untrusted: store whatever arrives, show it safely.

Three views of one untrusted string, each used at one boundary:

* :func:`storable` - what enters the run store: code points UTF-8 cannot hold (lone
  surrogates, as a JSON ``"\\ud800"`` escape decodes to) become U+FFFD; the original is
  returned too, as an ASCII escape string that :func:`recover` turns back into it;
* :func:`visible` - what reaches a terminal: control characters (C0, DEL, C1, so ANSI escape
  sequences), bidi controls, zero-width and other invisible format characters, line and
  paragraph separators and surrogates are shown as ``\\x1b`` / ``\\u202e`` escapes, never
  sent raw;
* :func:`html_visible` - what reaches the HTML report: the same characters as a styled
  ``<span class="ctl">`` marker (``⟨U+202E⟩``) and everything else HTML-escaped;
  :func:`marked` is the plain-text form of that marker for attributes and ``<title>``.

Newlines and tabs are kept where a view shows multi-line text (``keep_newlines=True``).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Any

from markupsafe import Markup, escape

from regurgitate.types import Generation

REPLACEMENT = "\ufffd"

# Cc (C0, DEL, C1), Cf bidi/zero-width/format characters, Zl/Zp, surrogates, and the
# Unicode noncharacters U+FFFE/U+FFFF. Built once from explicit ranges (no global state).
_CONTROL_RANGES = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"      # C0 (but \t \n), DEL, C1
    "\u00ad"                           # soft hyphen (invisible)
    "\u034f"                           # combining grapheme joiner
    "\u061c"                           # Arabic letter mark
    "\u115f\u1160\u3164\uffa0"         # Hangul fillers (render as blanks)
    "\u17b4\u17b5"                     # Khmer invisible vowels
    "\u180b-\u180f"                    # Mongolian variation selectors / vowel separator
    "\u200b-\u200f"                    # zero-width space/joiners, LRM, RLM
    "\u2028-\u202e"                    # line/paragraph separators, LRE RLE PDF LRO RLO
    "\u2060-\u206f"                    # word joiner, invisible operators, LRI RLI FSI PDI
    "\ufe00-\ufe0f"                    # variation selectors
    "\ufeff"                           # zero-width no-break space / BOM
    "\ufff9-\ufffb"                    # interlinear annotation controls
    "\ufffe\uffff"                     # noncharacters
    "\ud800-\udfff"                    # surrogates (never valid alone)
)
_CONTROLS = re.compile(f"[{_CONTROL_RANGES}]|[\U000e0000-\U000e007f]")
_CONTROLS_AND_LINES = re.compile(f"[{_CONTROL_RANGES}\t\n]|[\U000e0000-\U000e007f]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def storable(text: str) -> tuple[str, str | None]:
    """``(text, None)`` when ``text`` is valid UTF-8 material; else ``(repaired, raw)``:
    every lone surrogate replaced by U+FFFD and ``raw`` the original in Python's ASCII
    ``unicode_escape`` form (see :func:`recover`). Not JSON: a JSON reader joins an escaped
    high + low surrogate into one character, which would not give the original back."""
    if not _SURROGATES.search(text):
        return text, None
    return _SURROGATES.sub(REPLACEMENT, text), text.encode("unicode_escape").decode("ascii")


def recover(raw: str) -> str:
    """The original string from the ``raw`` form returned by :func:`storable`."""
    return raw.encode("ascii").decode("unicode_escape")


_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_one(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]
    cp = ord(ch)
    if cp <= 0xFF:
        return f"\\x{cp:02x}"
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control/invisible character as a visible backslash escape.
    Without ``keep_newlines`` tabs and newlines are escaped too (one-line output)."""
    pattern = _CONTROLS if keep_newlines else _CONTROLS_AND_LINES
    return pattern.sub(lambda m: _escape_one(m.group()), text)


def _name(ch: str) -> str:
    cp = ord(ch)
    label = f"U+{cp:04X}"
    name = unicodedata.name(ch, "")
    return f"{label} {name}" if name else label


def marked(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` with every control/invisible character replaced by ``⟨U+XXXX⟩`` (plain
    text, for HTML attributes and titles, escaped by the template engine as usual)."""
    pattern = _CONTROLS if keep_newlines else _CONTROLS_AND_LINES
    return pattern.sub(lambda m: f"\u27e8U+{ord(m.group()):04X}\u27e9", text)


def html_visible(text: str) -> Markup:
    """HTML for ``text``: escaped, with control/invisible characters as styled markers
    ``<span class="ctl" title="U+202E RIGHT-TO-LEFT OVERRIDE">⟨U+202E⟩</span>``."""
    out: list[str] = []
    pos = 0
    for m in _CONTROLS.finditer(text):
        out.append(str(escape(text[pos:m.start()])))
        ch = m.group()
        out.append(f'<span class="ctl" title="{escape(_name(ch))}">'
                   f"\u27e8U+{ord(ch):04X}\u27e9</span>")
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def repair_generation(gen: Generation) -> tuple[Generation, dict[str, str]]:
    """``gen`` with every string field storable, and ``{field: raw}`` for each one that had
    to be repaired (empty when nothing was). The one function every generation passes
    before the run store writes it, whichever target produced it."""
    raws: dict[str, str] = {}
    changes: dict[str, Any] = {}
    for name in ("text", "error", "finish_reason"):
        value = getattr(gen, name)
        if not isinstance(value, str):
            continue
        clean, raw = storable(value)
        if raw is not None:
            raws[name] = raw
            changes[name] = clean
    if not changes:
        return gen, raws
    return dataclasses.replace(gen, **changes), raws
